package report

import (
	"net/url"
	"strings"
)

// masked replaces a secret in the command line.
const masked = "***"

// MaskCommand returns the command line with anything that may be a secret
// masked: the value of a flag whose name says token, secret, password, key
// or auth (--token=…, --token-file …); NAME=value where NAME does; a URL's
// user, password and query, and the whole path of a --ping, --notify or
// *hook* URL (a check UUID or a webhook path is the secret); and any bare
// value shaped like a token (a JWT, or 24+ characters of letters and
// digits with upper case, lower case and digits mixed).
func MaskCommand(args []string) []string {
	out := make([]string, len(args))
	maskNext, pathSecret := false, false
	for i, a := range args {
		switch {
		case maskNext:
			out[i] = masked
			// A value that looks like a flag may be the flag it looks like
			// (-tokeY --token s3cr3t): masked as the value it may be, it
			// still announces a secret after it.
			if strings.HasPrefix(a, "-") {
				name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
				if secretName(name) && hasValue {
					out[i] = a[:len(a)-len(value)] + masked // --token=***, as anywhere else
				}
				maskNext = secretName(name) && !hasValue
				pathSecret = urlPathSecret(name) && !hasValue
				continue
			}
		case strings.HasPrefix(a, "-"):
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			switch {
			case secretName(name) && hasValue:
				out[i] = a[:len(a)-len(value)] + masked
			case hasValue:
				out[i] = a[:len(a)-len(value)] + maskValue(value, urlPathSecret(name))
			default:
				out[i] = a
			}
			maskNext = secretName(name) && !hasValue
			pathSecret = urlPathSecret(name) && !hasValue
			continue
		default:
			if name, _, ok := strings.Cut(a, "="); ok && secretName(name) {
				out[i] = name + "=" + masked
			} else {
				out[i] = maskValue(a, pathSecret)
			}
		}
		maskNext, pathSecret = false, false
	}
	return out
}

// secretName tells a flag or variable name that announces a secret.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"token", "secret", "password", "passwd", "key", "auth", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// urlPathSecret tells a flag whose URL's path is a secret.
func urlPathSecret(name string) bool {
	n := strings.ToLower(name)
	return n == "ping" || n == "notify" || strings.Contains(n, "hook")
}

// maskValue masks a URL's secret parts, or a value shaped like a token.
func maskValue(v string, pathSecret bool) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		return maskURL(u, pathSecret)
	}
	if tokenLike(v) {
		return masked
	}
	return v
}

func maskURL(u *url.URL, pathSecret bool) string {
	s := u.Scheme + "://"
	if u.User != nil {
		s += masked + "@"
	}
	s += u.Host
	if pathSecret && u.Path != "" && u.Path != "/" {
		s += "/" + masked
	} else {
		s += u.EscapedPath()
	}
	if u.RawQuery != "" {
		s += "?" + masked
	}
	return s
}

// tokenLike spots API keys passed by mistake as bare arguments. File names
// (a dot or a slash) and words do not match.
func tokenLike(v string) bool {
	if strings.HasPrefix(v, "eyJ") && strings.Count(v, ".") == 2 { // a JWT
		return true
	}
	if len(v) < 24 {
		return false
	}
	var upper, lower, digit int
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digit++
		case c == '_' || c == '-':
		default:
			return false
		}
	}
	hexLike := upper == 0 && digit >= 6 && lower > 0 && isHex(v)
	return hexLike || (upper >= 2 && lower >= 2 && digit >= 2)
}

func isHex(v string) bool {
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}
