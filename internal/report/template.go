package report

// pageHTML is the report's layout. Everything is inline: the CSS below and
// the charts' SVG; fonts are the reader's own.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — import run report</title>
<style>
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--panel:#f6f8fa;--good:#1a7f37;--bad:#c4314b;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px 24px 32px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 16px;border-bottom:1px solid var(--line);padding-bottom:12px}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:22px 0 8px}
h3{font-size:14px;margin:0 0 2px}
.meta{color:var(--muted);flex-basis:100%;margin:0}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px;color:#fff;background:var(--bad)}
.badge.ok{background:var(--good)}
.kpis{display:grid;grid-template-columns:repeat(8,1fr);gap:8px;margin:14px 0 4px}
.kpi{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.kpi .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.kpi .l{color:var(--muted);font-size:12px}
.kpi.good .v{color:var(--good)}.kpi.bad .v{color:var(--bad)}.kpi.warn .v{color:var(--warn)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 10px 4px}
figcaption{color:var(--muted);font-size:12px;margin-bottom:2px;min-height:2.9em}
svg.chart{width:100%;height:auto;display:block;font-family:inherit}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .tick{font-size:11px;fill:#59636e;font-variant-numeric:tabular-nums}
svg .atitle{font-size:11px;fill:#59636e}
svg .legend{font-size:11px;fill:#1f2328}
svg .empty{font-size:13px;fill:#8c959f}
.cols{display:grid;grid-template-columns:minmax(280px,1fr) 2fr;gap:24px;align-items:start}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{height:10px;border-radius:2px;background:#0072b2}
.s-ok .bar{background:#1a7f37}.s-failed .bar,.s-invalid .bar,.s-unknown .bar{background:#c4314b}
.rows{color:var(--muted);font-variant-numeric:tabular-nums}
.timeline td.n{width:5em}.down{color:#cc3311}.up{color:#1a7f37}
.more,.none{color:var(--muted);font-size:13px;margin:6px 0}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0}
footer{color:var(--muted);font-size:12px;margin-top:24px;border-top:1px solid var(--line);padding-top:8px}
@media (max-width:900px){.kpis{grid-template-columns:repeat(4,1fr)}.cols{grid-template-columns:1fr}}
@media print{.charts{grid-template-columns:1fr 1fr}figure{break-inside:avoid}}
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<span class="badge{{if .OK}} ok{{end}}">exit {{.ExitCode}} · {{.Outcome}}</span>
<p class="meta">{{.Meta}}</p>
</header>
<section class="kpis">
{{- range .KPIs}}
<div class="kpi{{if .Class}} {{.Class}}{{end}}"><div class="v">{{.Value}}</div><div class="l">{{.Label}}</div></div>
{{- end}}
</section>
<section class="charts">
{{- range .Charts}}
<figure>
<h3>{{.Heading}}</h3>
<figcaption>{{.Note}}</figcaption>
{{.SVG}}
</figure>
{{- end}}
</section>
<div class="cols">
<section>
<h2>Rows by status</h2>
{{- if .Statuses}}
<table class="status">
<thead><tr><th>status</th><th class="n">rows</th><th class="n">share</th><th style="width:40%"></th></tr></thead>
<tbody>
{{- range .Statuses}}
<tr class="s-{{.Status}}"><td>{{.Status}}</td><td class="n">{{.Rows}}</td><td class="n">{{.Share}}</td><td><div class="bar" style="width:{{.Width}}%"></div></td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="none">No rows.</p>
{{- end}}
<h2>Rate changes</h2>
{{- if .Timeline}}
<table class="timeline">
<thead><tr><th>at</th><th>change</th></tr></thead>
<tbody>
{{- range .Timeline}}
<tr class="{{.Class}}"><td class="n">{{.At}}</td><td>{{.Text}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .TimelineMore}}<p class="more">{{.TimelineMore}}</p>{{end}}
{{- else}}
<p class="none">The request rate was never lowered.</p>
{{- end}}
</section>
<section>
<h2>Errors by kind and column</h2>
{{- if .Errors}}
<table class="errors">
<thead><tr><th>error</th><th>column</th><th class="n">rows</th><th>first rows</th></tr></thead>
<tbody>
{{- range .Errors}}
<tr><td>{{.Kind}}</td><td>{{.Column}}</td><td class="n">{{.Count}}</td><td class="rows">{{.Rows}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .ErrorsMore}}<p class="more">{{.ErrorsMore}}</p>{{end}}
{{- else}}
<p class="none">No errors.</p>
{{- end}}
</section>
</div>
<h2>Run</h2>
<dl>
<dt>command</dt><dd><pre>{{.Command}}</pre></dd>
<dt>config</dt><dd><pre>{{.Config}}</pre>{{if .ConfigMore}}<p class="more">{{.ConfigMore}}</p>{{end}}</dd>
</dl>
<footer>Written by importer at the end of the run. Self-contained: no scripts, fonts or images are loaded from anywhere.</footer>
</main>
</body>
</html>
`
