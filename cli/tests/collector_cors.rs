//! The collector answers web pages on other origins (the browser build's
//! tests and demo serve pages from another port): every answer carries CORS
//! headers, a preflight for `/v1/batch` is answered, and a `text/plain`
//! batch with the write key in its body, as the browser sends it, is stored.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig};

/// Sends `request` as is and returns the whole answer (the request asks to close).
fn exchange(c: &Collector, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", c.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn preflight_is_answered_with_what_a_page_may_send() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let answer = exchange(
        &c,
        "OPTIONS /v1/batch HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:1\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    for header in [
        "Access-Control-Allow-Origin: *",
        "Access-Control-Allow-Methods: POST",
        "Access-Control-Allow-Headers: Content-Type, Authorization",
    ] {
        assert!(answer.contains(header), "{header} missing in {answer}");
    }
    assert_eq!(c.stats().requests, 0, "a preflight is not a batch");
}

#[test]
fn a_browser_style_batch_is_stored_and_its_answer_readable_cross_origin() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let body = r#"{"batch":[{"type":"track","event":"E","messageId":"m1","timestamp":"2026-11-22T07:17:49.123Z","anonymousId":"a"}],"writeKey":"wk","sentAt":"2026-11-22T07:17:49.123Z"}"#;
    let answer = exchange(
        &c,
        &format!(
            "POST /v1/batch HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Access-Control-Allow-Origin: *"));
    assert!(
        answer.contains("Access-Control-Expose-Headers: Retry-After"),
        "a page may read Retry-After"
    );
    assert_eq!(c.message_ids(), ["m1"]);
    let not_found = exchange(
        &c,
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        not_found.starts_with("HTTP/1.1 404")
            && not_found.contains("Access-Control-Allow-Origin: *")
    );
}
