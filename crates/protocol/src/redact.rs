//! Secrets out of text: a PostgreSQL connection string's password never reaches a terminal, a
//! record or a report.

/// `text` with every password of a connection string replaced by `***`: a URL's
/// `scheme://user:PASSWORD@host`, and `password=VALUE` (libpq key=value form, a URL query
/// parameter), `VALUE` quoted (`'…'`, with `\'` escapes) or not.
pub fn redact(text: &str) -> String {
    redact_key_values(&redact_url_userinfo(text))
}

fn redact_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or white space.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at_sign) => {
                let userinfo = &authority[..at_sign];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at_sign..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn redact_key_values(text: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at + KEY.len()]);
        out.push_str("***");
        let value = &rest[at + KEY.len()..];
        let skip = if let Some(quoted) = value.strip_prefix('\'') {
            // Up to the closing quote that is not escaped.
            let mut escaped = false;
            let mut end = quoted.len();
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '\'') => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            1 + end
        } else {
            value
                .find(|c: char| c.is_whitespace() || c == '&')
                .unwrap_or(value.len())
        };
        rest = &value[skip..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced_in_every_form() {
        assert_eq!(
            redact("connecting to postgresql://bob:s3cr3t@db.example:5432/x failed"),
            "connecting to postgresql://bob:***@db.example:5432/x failed"
        );
        assert_eq!(
            redact("host=/tmp/x port=5432 user=membench password=abc123 dbname=postgres"),
            "host=/tmp/x port=5432 user=membench password=*** dbname=postgres"
        );
        assert_eq!(
            redact(r"host=h password='a b\'c' dbname=d"),
            "host=h password=*** dbname=d"
        );
        assert_eq!(
            redact("postgres://h/db?sslmode=disable&password=zz&user=u"),
            "postgres://h/db?sslmode=disable&password=***&user=u"
        );
        assert_eq!(redact("postgres://bob@h/db"), "postgres://bob@h/db");
        assert_eq!(redact("no secrets here"), "no secrets here");
    }
}
