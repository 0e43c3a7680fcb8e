//! Differential property tests of the browser build's endpoint check (a
//! hand-written split of the URL, `split_endpoint`) against the native
//! build's (the `url` crate, WHATWG rules as browsers read them).
//!
//! In the browser, `Cairn.load` reads an endpoint with the browser's URL
//! parser (the same WHATWG rules, stood in for here by `url::Url::parse`):
//! it refuses what that parser refuses, and hands the core the URL as the
//! parser writes it back, but for text with white space or a control
//! character, or without `http://` or `https://` at its start, which goes
//! as given (the core refuses it). The core then
//! applies cairn's rules on the split. The property, for URL-like strings
//! built from the pieces that read differently (user info, IPv6 hosts,
//! ports, `\` and `//` in paths, dot segments, percent escapes, queries
//! and fragments, white space): the browser accepts exactly what the native
//! build accepts, and both send to the same URL (the endpoint plus
//! `/v1/batch`, as WHATWG reads it). No documented difference.
//!
//! And for the same strings with a user name and password in them, wherever
//! a browser would read credentials: the error text (`without_credentials`,
//! hand-written too) never shows them.
//!
//! Case counts: `CAIRN_PROPTEST_CASES` (default 4,000):
//!
//! ```text
//! CAIRN_PROPTEST_CASES=2000000 cargo test --release -p cairn --lib config::endpoint_tests
//! ```

use super::*;
use proptest::prelude::*;
use proptest::sample::select;

/// A URL-like string: a scheme cairn takes, user info, host, port, a path of
/// segments joined by `/`, `\` or `//`, then a query or fragment.
fn endpoint() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        6 => select(vec!["http://", "https://", "HTTP://", "hTTps://"]),
        1 => select(vec!["http:", "http:/", "https:\\\\", "http:///", " http://", "http:/\t/", "ftp://"]),
    ];
    let userinfo = prop_oneof![
        6 => Just(""),
        1 => select(vec!["user@", "user:pass@", "@", ":@", ":pass@", "u%40x@", "a@b@"]),
    ];
    let host = select(vec![
        "example.com",
        "EXAMPLE.com",
        "127.0.0.1",
        "[::1]",
        "[::1",
        "h",
        "bücher.example",
        "%41.com",
        "",
        "a\\b",
        "host.",
    ]);
    let port = prop_oneof![
        4 => Just(""),
        1 => select(vec![":80", ":8080", ":0", ":65535", ":65536", ":x", ":"]),
    ];
    let segment = select(vec![
        "v1", "batch", "V1", "BATCH", "api", "", ".", "..", "%2e", "%2E%2E", "%62atch", "ü", "x",
        " ", "\t", "\u{85}", "\u{a0}",
    ]);
    let separator = prop_oneof![6 => Just("/"), 1 => Just("\\"), 1 => Just("//")];
    let path = proptest::collection::vec((separator, segment), 0..5).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(s, g)| format!("{s}{g}"))
            .collect::<String>()
    });
    let end = prop_oneof![
        6 => Just(""),
        1 => select(vec!["/", "?", "?q=1", "#", "#f", "\\", "/?a", "/#"]),
    ];
    (scheme, userinfo, host, port, path, end)
        .prop_map(|(s, u, h, p, path, e)| format!("{s}{u}{h}{p}{path}{e}"))
}

/// What the browser does with `raw`: refuse it (its URL parser or the
/// core's rules on the split), or send to the endpoint it returns.
/// `readEndpoint` in js/index.js, then the core.
fn in_the_browser(raw: &str) -> core::result::Result<String, String> {
    let lower = raw.to_ascii_lowercase();
    let given = if raw
        .chars()
        .any(|c| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c))
        || !(lower.starts_with("http://") || lower.starts_with("https://"))
    {
        raw.to_string()
    } else {
        match url::Url::parse(raw) {
            Ok(url) => url.to_string(),
            Err(e) => return Err(format!("URL.canParse refuses it ({e})")),
        }
    };
    validate_endpoint_with(&given, BATCH_PATH, split_endpoint)
}

/// The URL a batch goes to from `endpoint`, as WHATWG reads it.
fn batch_url(endpoint: &str) -> String {
    url::Url::parse(&format!("{endpoint}{BATCH_PATH}"))
        .map(|u| u.to_string())
        .unwrap_or_else(|e| format!("unparseable ({e})"))
}

fn same_decision(raw: &str) -> Result<(), TestCaseError> {
    let native = validate_endpoint_with(raw, BATCH_PATH, parse_endpoint);
    let browser = in_the_browser(raw);
    match (&native, &browser) {
        (Ok(n), Ok(b)) => prop_assert_eq!(
            batch_url(n),
            batch_url(b),
            "{:?}: both accept, but send to different URLs",
            raw
        ),
        (Err(why), Ok(b)) => {
            prop_assert!(
                false,
                "{:?}: the browser sends to {:?}, native refuses: {}",
                raw,
                b,
                why
            )
        }
        (Ok(n), Err(why)) => {
            prop_assert!(
                false,
                "{:?}: native sends to {:?}, the browser refuses: {}",
                raw,
                n,
                why
            )
        }
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

/// `raw` with `us3rname:s3cr3t@` put after the scheme's `//`, or, now and
/// then, somewhere later: text that reads as credentials only to some.
fn with_credentials() -> impl Strategy<Value = String> {
    (endpoint(), any::<proptest::sample::Index>(), any::<bool>()).prop_map(|(raw, at, anywhere)| {
        let start = authority_start(&raw);
        let at = if anywhere {
            start + at.index(raw.len() - start + 1)
        } else {
            start
        };
        let at = (at..=raw.len())
            .find(|&i| raw.is_char_boundary(i))
            .unwrap_or(raw.len());
        format!("{}us3rname:s3cr3t@{}", &raw[..at], &raw[at..])
    })
}

proptest! {
    #![proptest_config(crate::proptest_config(4_000))]

    #[test]
    fn endpoint_differential(raw in endpoint()) {
        same_decision(&raw)?;
    }

    #[test]
    fn error_texts_never_show_credentials(raw in with_credentials()) {
        let Ok(url) = url::Url::parse(&raw) else { return Ok(()) };
        let shown = without_credentials(&raw);
        if url.password() == Some("s3cr3t") {
            prop_assert!(!shown.contains("s3cr3t"), "{:?} shown as {:?}", raw, shown);
        }
        if url.username() == "us3rname" {
            prop_assert!(!shown.contains("us3rname"), "{:?} shown as {:?}", raw, shown);
        }
    }

    /// Arbitrary text after the scheme, for what the pieces above miss.
    #[test]
    fn endpoint_differential_any_text(
        scheme in select(vec!["http://", "https://", "http:", "http:/", "http:\\\\", "http:///"]),
        rest in "[a-z0-9@:/\\\\?#.%\\[\\]ü-]{0,24}",
    ) {
        same_decision(&format!("{scheme}{rest}"))?;
    }
}

/// What these properties found, kept as named cases.
#[test]
fn cases_the_properties_found() {
    // Split as typed, the page sent this one's batches to `//v1/batch`.
    assert_eq!(
        in_the_browser("http://example.com\\").as_deref(),
        Ok("http://example.com")
    );
    // ...and took this one, which ends in the batch path.
    assert!(in_the_browser("http://example.com\\v1\\batch").is_err());
    // The browser's parser reads `http:host` as `http://host/`; native
    // refuses it, and so does the page now.
    assert!(in_the_browser("http:example.com").is_err());
    // A browser reads credentials after any number of slashes: the error
    // text hid none of them.
    let shown = without_credentials("http:///user:s3cr3t@host/");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    let shown = without_credentials("https:\\\\user:s3cr3t@host/");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}
