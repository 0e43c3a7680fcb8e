//! Just enough HTTP/1.1 for the collector, over a plain `TcpStream`.
//!
//! This module decides how bytes on a connection become a request head and a
//! body (`Content-Length` or `chunked`), and how an answer is written back
//! (always with `Content-Length`, keep-alive unless the client asked to close,
//! and open to pages of any origin: see [`CORS_HEADERS`]).
//! It owns the socket so the collector can also *not* answer: closing the
//! connection mid-request is how lost acks and network drops are simulated.
//! What a request means is decided in `server`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Longest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body accepted; bigger bodies are answered 413.
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long a started request may take between two reads.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Sent with every answer so a web page on another origin (the browser
/// build, a demo page on another port) can post batches and read the answer,
/// `Retry-After` included.
pub(crate) const CORS_HEADERS: &str =
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Retry-After\r\n";

/// A parsed request line and its headers.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Header names lower-cased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
}

impl Head {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The bytes are not HTTP the collector understands: answer 400 and close.
    Malformed(String),
    /// The body is over [`MAX_BODY_BYTES`]: answer 413 and close.
    TooLarge(usize),
    /// The socket failed or timed out: close without answering.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// One client connection: a buffered reader and the stream to answer on.
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// What waiting for the next request on a kept-alive connection found.
pub(crate) enum Idle {
    /// Bytes of a new request are waiting.
    Ready,
    /// The client closed the connection.
    Closed,
    /// Nothing arrived within the poll interval.
    Nothing,
}

impl Conn {
    /// Wraps an accepted stream.
    pub fn new(stream: TcpStream) -> io::Result<Conn> {
        // Answers are small and written in one go; do not let Nagle delay them.
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        Ok(Conn {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Waits up to `poll` for the first byte of the next request.
    pub fn wait_for_request(&mut self, poll: Duration) -> io::Result<Idle> {
        self.reader.get_ref().set_read_timeout(Some(poll))?;
        match self.reader.fill_buf() {
            Ok([]) => Ok(Idle::Closed),
            Ok(_) => Ok(Idle::Ready),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Idle::Nothing)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Idle::Nothing),
            Err(e) => Err(e),
        }
    }

    /// Reads a request line and headers.
    pub fn read_head(&mut self) -> Result<Head, ReadError> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(REQUEST_READ_TIMEOUT))?;
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take((MAX_HEAD_BYTES - total + 1) as u64)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(ReadError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-request",
                )));
            }
            total += n;
            if total > MAX_HEAD_BYTES {
                return Err(ReadError::Malformed(format!(
                    "request head is over {MAX_HEAD_BYTES} bytes"
                )));
            }
            let line = String::from_utf8(line)
                .map_err(|_| ReadError::Malformed("request head is not UTF-8".into()))?;
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if line.is_empty() {
                if lines.is_empty() {
                    // Stray blank lines between requests are allowed (RFC 9112 §2.2).
                    continue;
                }
                break;
            }
            lines.push(line);
        }
        parse_head(&lines)
    }

    /// Reads the body `head` announces: `Content-Length`, `chunked`, or none.
    pub fn read_body(&mut self, head: &Head) -> Result<Vec<u8>, ReadError> {
        if head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            self.writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let chunked = head.header("transfer-encoding").is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
        });
        if chunked {
            return self.read_chunked();
        }
        let len = match head.header("content-length") {
            None => 0,
            Some(v) => v.parse::<usize>().map_err(|_| {
                ReadError::Malformed(format!("Content-Length `{v}` is not a number"))
            })?,
        };
        if len > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge(len));
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(body)
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let mut size_line = String::new();
            (&mut self.reader).take(1024).read_line(&mut size_line)?;
            let size_text = size_line.trim().split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| ReadError::Malformed(format!("bad chunk size `{size_text}`")))?;
            if body.len() + size > MAX_BODY_BYTES {
                return Err(ReadError::TooLarge(body.len() + size));
            }
            if size == 0 {
                // Skip trailers up to the blank line that ends the message.
                loop {
                    let mut trailer = String::new();
                    let n = (&mut self.reader).take(8 * 1024).read_line(&mut trailer)?;
                    if n == 0 || trailer.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf)?;
            if &crlf != b"\r\n" {
                return Err(ReadError::Malformed("chunk not followed by CRLF".into()));
            }
        }
    }

    /// Writes a complete answer with a JSON body.
    pub fn respond(
        &mut self,
        status: u16,
        extra_headers: &[(&str, &str)],
        body: &str,
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        out.push_str("Content-Type: application/json\r\n");
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        out.push_str(CORS_HEADERS);
        for (name, value) in extra_headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(if keep_alive {
            "Connection: keep-alive\r\n"
        } else {
            "Connection: close\r\n"
        });
        out.push_str("\r\n");
        out.push_str(body);
        self.writer.write_all(out.as_bytes())?;
        self.writer.flush()
    }

    /// Closes the connection at once, without writing anything: the client
    /// sees end-of-stream or a reset, never an HTTP status. Drop the `Conn`
    /// afterwards; nothing more can be read or written.
    pub fn drop_connection(&self) {
        // Errors mean the socket is already gone, which is the goal.
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}

fn parse_head(lines: &[String]) -> Result<Head, ReadError> {
    let request_line = lines.first().map(String::as_str).unwrap_or("");
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!(
            "bad request line `{request_line}`"
        )));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Malformed(format!(
            "unsupported protocol `{version}`: speak HTTP/1.1"
        )));
    }
    let mut headers = Vec::with_capacity(lines.len() - 1);
    for line in &lines[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed(format!("bad header line `{line}`")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let connection = headers
        .iter()
        .find(|(n, _)| n == "connection")
        .map(|(_, v)| v.to_ascii_lowercase());
    let keep_alive = match connection.as_deref() {
        Some(v) if v.contains("close") => false,
        Some(v) if v.contains("keep-alive") => true,
        _ => version != "HTTP/1.0",
    };
    let path = target.split(['?', '#']).next().unwrap_or("").to_string();
    Ok(Head {
        method: method.to_string(),
        path,
        headers,
        keep_alive,
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_request_line_and_headers() {
        let h = parse_head(&lines(&[
            "POST /v1/batch?x=1 HTTP/1.1",
            "Content-Type: application/json",
            "X-A:  b ",
        ]))
        .unwrap();
        assert_eq!((h.method.as_str(), h.path.as_str()), ("POST", "/v1/batch"));
        assert_eq!(h.header("content-type"), Some("application/json"));
        assert_eq!(h.header("x-a"), Some("b"));
        assert!(h.keep_alive);
        let h = parse_head(&lines(&["GET / HTTP/1.0"])).unwrap();
        assert!(!h.keep_alive);
        let h = parse_head(&lines(&["GET / HTTP/1.1", "Connection: close"])).unwrap();
        assert!(!h.keep_alive);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            parse_head(&lines(&["hello"])),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(&lines(&["GET / SPDY/3"])),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(&lines(&["GET / HTTP/1.1", "no colon"])),
            Err(ReadError::Malformed(_))
        ));
    }
}
