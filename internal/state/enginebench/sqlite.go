package main

import (
	"context"
	"database/sql"
	"path/filepath"

	_ "modernc.org/sqlite"
)

type sqliteEngine struct {
	db       *sql.DB
	ins, sel *sql.Stmt
}

var sqliteSync = "FULL"

func init() {
	engines["sqlite"] = func(dir string) (engine, error) {
		dsn := "file:" + filepath.Join(dir, "state.sqlite") +
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sqliteSync + ")&_pragma=busy_timeout(5000)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS keys(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`); err != nil {
			return nil, err
		}
		e := &sqliteEngine{db: db}
		if e.ins, err = db.Prepare(`INSERT OR REPLACE INTO keys(k, v) VALUES(?, ?)`); err != nil {
			return nil, err
		}
		if e.sel, err = db.Prepare(`SELECT v FROM keys WHERE k = ?`); err != nil {
			return nil, err
		}
		return e, nil
	}
}

func (e *sqliteEngine) put(keys, vals [][]byte) error {
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	st := tx.Stmt(e.ins)
	for i := range keys {
		if _, err := st.Exec(keys[i], vals[i]); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (e *sqliteEngine) lookup(keys [][]byte, fn func(int, []byte)) error {
	tx, err := e.db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := tx.Stmt(e.sel)
	var v []byte
	for i, k := range keys {
		err := st.QueryRow(k).Scan(&v)
		if err == sql.ErrNoRows {
			fn(i, nil)
			continue
		}
		if err != nil {
			return err
		}
		fn(i, v)
	}
	return nil
}

func (e *sqliteEngine) scan(fn func(k, v []byte)) error {
	rows, err := e.db.Query(`SELECT k, v FROM keys ORDER BY k`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var k, v sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		fn(k, v)
	}
	return rows.Err()
}

func (e *sqliteEngine) close() error {
	e.ins.Close()
	e.sel.Close()
	return e.db.Close()
}
