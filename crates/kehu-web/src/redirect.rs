//! Where a redirect may lead after sign-in or a language switch: a path on this site only.
//! An open redirect would let a phishing link start on kehu's own sign-in page.

/// `candidate` when it is a same-origin path, else `/`.
///
/// A same-origin path starts with `/` and consists only of URI path, query and fragment
/// characters (RFC 3986 `pchar`, `/`, `?`, `#`). That rules out everything browsers read as
/// another origin or normalise into one: `//host`, `/\host` (backslashes become slashes),
/// tabs and newlines (stripped by the URL parser, so `/\t/host` is `//host`), any other
/// whitespace, control or non-ASCII character, and an empty value.
pub fn safe_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(p) if is_same_origin_path(p) => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_same_origin_path(p: &str) -> bool {
    p.starts_with('/') && !p.contains("//") && p.bytes().all(is_url_char)
}

/// Unreserved, sub-delims, `:` `@` `%` (pct-encoding) and the separators `/` `?` `#`.
fn is_url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%/?#".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_with_queries_and_fragments_pass() {
        for p in [
            "/",
            "/users",
            "/users?page=2&q=li",
            "/users/7#password",
            "/%E6%9D%8E",
            "/?lang=en",
            "/%5Cevil",
        ] {
            assert_eq!(safe_path(Some(p)), p, "{p:?}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_goes_home() {
        for p in [
            "",
            "users",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/users\\x",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/users?q=a b",
            "/\u{a0}/evil.example",
            "/\u{3000}",
            "/李",
            "https://evil.example",
            "javascript:alert(1)",
            "/users//x",
            "/\u{0}x",
            "/\u{7f}x",
            "/<script>",
            "/\"x",
        ] {
            assert_eq!(safe_path(Some(p)), "/", "{p:?}");
        }
        assert_eq!(safe_path(None), "/");
    }
}
