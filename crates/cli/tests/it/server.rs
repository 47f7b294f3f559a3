//! A tiny HTTP/1.1 server on 127.0.0.1:0 for the `--jwks URL` and `--issuer URL` tests:
//! fixed routes, one request per connection, on a thread of its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// A bound listener and its base URL (`http://127.0.0.1:PORT`, no final slash).
pub(crate) struct Server {
    listener: TcpListener,
    pub(crate) base: String,
}

/// A route: path, status, body.
pub(crate) type Route = (String, u16, String);

impl Server {
    /// Binds a free port, so that routes can name the server's own URL before it serves.
    pub(crate) fn bind() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        Server { listener, base }
    }

    /// Serves `routes` until the test process exits; unknown paths get 404.
    pub(crate) fn serve(self, routes: Vec<Route>) {
        std::thread::spawn(move || {
            for stream in self.listener.incoming() {
                let Ok(stream) = stream else { continue };
                answer(stream, &routes);
            }
        });
    }
}

fn answer(mut stream: TcpStream, routes: &[Route]) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = routes
        .iter()
        .find(|(p, _, _)| p == path)
        .map_or((404, "not found"), |(_, s, b)| (*s, b.as_str()));
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}
