//! HTTP/1.1 on the wire, as the scenario client and the stub upstreams speak it to Envoy:
//! heads parsed by httparse, bodies framed by Content-Length or chunked with trailers (which
//! no general-purpose client here exposes, and scenarios declare).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// The most a head or a body may take: a scenario's messages are small, a runaway one is a bug.
const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 16 << 20;
const MAX_HEADERS: usize = 128;

/// A request or a response as it crossed the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `GET /path` for a request, `200` for a response.
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads a head up to its blank line; `None` when the peer closed before sending anything.
fn read_head(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let n = reader.by_ref().take((MAX_HEAD - head.len()) as u64).read_until(b'\n', &mut head)?;
        if n == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the peer closed in the middle of a head"));
        }
        if head.ends_with(b"\r\n\r\n") || head == b"\r\n" {
            return Ok(Some(head));
        }
        if head.len() >= MAX_HEAD {
            return Err(invalid("a head of more than 64 KiB"));
        }
    }
}

fn pairs(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers.iter().map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned())).collect()
}

/// Reads one request; `None` when the connection ended between requests.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Message>> {
    let Some(head) = read_head(reader)? else { return Ok(None) };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&head).map_err(|e| invalid(format!("a malformed request head: {e}")))?;
    let mut message = Message {
        method: request.method.unwrap_or_default().to_string(),
        path: request.path.unwrap_or_default().to_string(),
        headers: pairs(request.headers),
        ..Message::default()
    };
    read_body(reader, &mut message, false)?;
    Ok(Some(message))
}

/// Reads one response (to a request other than HEAD).
pub fn read_response(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Message>> {
    let Some(head) = read_head(reader)? else { return Ok(None) };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(&head).map_err(|e| invalid(format!("a malformed response head: {e}")))?;
    let mut message =
        Message { status: response.code.unwrap_or_default(), headers: pairs(response.headers), ..Message::default() };
    let bodiless = message.status < 200 || message.status == 204 || message.status == 304;
    if !bodiless {
        read_body(reader, &mut message, true)?;
    }
    Ok(Some(message))
}

/// The body by its framing: chunked (with trailers), Content-Length, or (responses only)
/// everything until the peer closes.
fn read_body(reader: &mut BufReader<TcpStream>, message: &mut Message, until_close: bool) -> io::Result<()> {
    let chunked = message.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader, message);
    }
    if let Some(length) = message.header("content-length") {
        let length: usize = length.trim().parse().map_err(|_| invalid(format!("content-length {length:?}")))?;
        if length > MAX_BODY {
            return Err(invalid(format!("a body of {length} bytes")));
        }
        message.body = vec![0; length];
        return reader.read_exact(&mut message.body);
    }
    if until_close {
        reader.by_ref().take(MAX_BODY as u64).read_to_end(&mut message.body)?;
    }
    Ok(())
}

fn read_chunked(reader: &mut BufReader<TcpStream>, message: &mut Message) -> io::Result<()> {
    loop {
        let mut line = String::new();
        reader.by_ref().take(1024).read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid(format!("a chunk size {size:?}")))?;
        if size == 0 {
            break;
        }
        if message.body.len() + size > MAX_BODY {
            return Err(invalid("a chunked body of more than 16 MiB"));
        }
        let start = message.body.len();
        message.body.resize(start + size, 0);
        reader.read_exact(&mut message.body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
    // Trailers, then the blank line.
    let mut block = Vec::new();
    loop {
        let before = block.len();
        reader.by_ref().take(MAX_HEAD as u64).read_until(b'\n', &mut block)?;
        let line = &block[before..];
        if line.is_empty() || line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    if block.len() > 2 {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        if let Ok(httparse::Status::Complete((_, parsed))) = httparse::parse_headers(&block, &mut headers) {
            message.trailers = pairs(parsed);
        }
    }
    Ok(())
}

/// Writes a message: `start` is its start line, `headers` its fields (no pseudo-headers),
/// then the body in `chunks`. Trailers or several chunks make it chunked; else a
/// Content-Length frames it (omitted for an empty body when `length_if_empty` is false).
pub fn write_message(
    out: &mut impl Write,
    start: &str,
    headers: &[(String, String)],
    chunks: &[String],
    trailers: &[(String, String)],
    length_if_empty: bool,
) -> io::Result<()> {
    let mut text = format!("{start}\r\n");
    let framing =
        |name: &str| name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding");
    for (name, value) in headers.iter().filter(|(n, _)| !n.starts_with(':') && !framing(n)) {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = !trailers.is_empty() || chunks.len() > 1;
    let body: String = chunks.concat();
    if chunked {
        text.push_str("transfer-encoding: chunked\r\n\r\n");
        for chunk in chunks.iter().filter(|c| !c.is_empty()) {
            text.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        text.push_str("0\r\n");
        for (name, value) in trailers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
    } else {
        if !body.is_empty() || length_if_empty {
            text.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        text.push_str("\r\n");
        text.push_str(&body);
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, BufReader<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, BufReader::new(server))
    }

    #[test]
    fn chunked_bodies_and_trailers_cross_intact() {
        let (mut client, mut server) = pair();
        let headers = vec![("host".to_string(), "example.com".to_string()), ("X-A".to_string(), "1".to_string())];
        let chunks = vec!["hello ".to_string(), "world".to_string()];
        let trailers = vec![("x-checksum".to_string(), "abc".to_string())];
        write_message(&mut client, "POST /up HTTP/1.1", &headers, &chunks, &trailers, false).unwrap();
        let got = read_request(&mut server).unwrap().unwrap();
        assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/up"));
        assert_eq!(got.header("x-a"), Some("1"));
        assert_eq!(got.body, b"hello world");
        assert_eq!(got.trailers, trailers);
    }

    #[test]
    fn responses_are_framed_by_length_and_a_closed_peer_is_none() {
        let (mut client, mut server) = pair();
        write_message(&mut client, "HTTP/1.1 404 Not Found", &[], &["gone\n".into()], &[], true).unwrap();
        let got = read_response(&mut server).unwrap().unwrap();
        assert_eq!((got.status, got.body.as_slice()), (404, &b"gone\n"[..]));
        drop(client);
        assert!(read_response(&mut server).unwrap().is_none());
    }
}
