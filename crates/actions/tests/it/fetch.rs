//! `fetch` and timers: what an Action may reach under the two egress allow-lists (the
//! operator's and the tenant's), the addresses it never reaches (loopback, link-local cloud
//! metadata, a redirect into either, a name resolving to them), the caps on requests, bodies
//! and time, and timers with `AbortController`. The far side is a small HTTP server of this
//! test's on 127.0.0.1 (the operator opens loopback for it where a case needs to reach it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sigil_actions::{Egress, Engine, Execution, HostPattern, Limits, Trigger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::engine::{MEASURING, command, execution, limits};

/// The test's web server: its port, and the most requests it had in flight at once.
struct Web {
    port: u16,
    most_at_once: Arc<AtomicUsize>,
}

async fn web() -> Web {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let now = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let most = Arc::clone(&most_at_once);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (now, most) = (Arc::clone(&now), Arc::clone(&most));
            tokio::spawn(async move {
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at_once, Ordering::SeqCst);
                answer(stream).await;
                now.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Web { port, most_at_once }
}

/// One request: `/json`, `/big` (2 MiB), `/slow` (3 s), `/wait` (100 ms), `/to?URL` (a 302
/// there), `/echo` (the request's method, target, headers and body as JSON), `/hex` (the
/// request's body in hexadecimal), `/bytes` (bytes that are no UTF-8).
async fn answer(mut stream: TcpStream) {
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        read.extend_from_slice(&buffer[..n]);
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).into_owned();
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while read.len() < head_end + length {
        let Ok(n) = stream.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buffer[..n]);
    }
    let raw = read[head_end..].to_vec();
    let body = String::from_utf8_lossy(&raw).into_owned();
    let (method, target) = (first[0], first.get(1).copied().unwrap_or("/"));
    let (status, extra, content) = match target.split_once('?').map_or((target, ""), |p| p) {
        ("/json", _) => (
            "200 OK",
            String::new(),
            r#"{"roles":["reader"]}"#.to_owned(),
        ),
        ("/big", _) => ("200 OK", String::new(), "x".repeat(2 << 20)),
        ("/slow", _) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ("200 OK", String::new(), "late".to_owned())
        }
        ("/wait", _) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ("200 OK", String::new(), "waited".to_owned())
        }
        ("/to", to) => ("302 Found", format!("location: {to}\r\n"), String::new()),
        ("/echo", _) => {
            let echo =
                json!({"method": method, "target": target, "headers": headers, "body": body});
            ("200 OK", String::new(), echo.to_string())
        }
        ("/hex", _) => {
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            ("200 OK", String::new(), hex)
        }
        ("/bytes", _) => {
            let bytes = [0u8, 1, 0xfe, 0xff, 0x80, b'A'];
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(&[head.as_bytes(), &bytes].concat()).await;
            return;
        }
        _ => ("404 Not Found", String::new(), String::new()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{content}",
        content.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
}

fn engine(operator: &str) -> Engine {
    Engine::start(Limits {
        egress: Arc::new(operator.parse::<Egress>().unwrap()),
        ..limits()
    })
    .unwrap()
}

/// A post-login execution of `body`, for a tenant allowing `tenant`.
fn on(body: &str, tenant: &[&str]) -> Execution {
    let code = format!("exports.onExecutePostLogin = async (event, api) => {{\n{body}\n}};");
    Execution {
        egress: tenant
            .iter()
            .map(|p| p.parse::<HostPattern>().unwrap())
            .collect(),
        ..execution(Trigger::PostLogin, &[&code])
    }
}

/// What the Action put in the claim `r`, or its failure.
async fn result(engine: &Engine, execution: Execution) -> Value {
    let outcome = engine.run(execution).await.unwrap();
    if let Some(failed) = outcome.failure() {
        return json!({"failed": failed.error.as_ref().unwrap().to_string()});
    }
    outcome
        .commands()
        .find(|c| c.args[0] == "r")
        .map(|c| c.args[1].clone())
        .unwrap_or(Value::Null)
}

/// Sets the claim `r` to what `expression` settles to, or to its error's text.
fn claim(expression: &str) -> String {
    format!(
        "let r; try {{ r = await ({expression}); }} catch (e) {{ r = 'error: ' + e.name + ': ' + e.message; }}\n\
         api.idToken.setCustomClaim('r', r);"
    )
}

#[tokio::test]
async fn fetch_reaches_only_what_both_lists_allow_and_never_a_private_address() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let port = web.port;
    let local = format!("http://127.0.0.1:{port}");
    // The operator opens loopback for the test server; the tenant lists it.
    let open = engine("http://127.0.0.1,http://localhost,127.0.0.0/8,::1/128");
    // The operator lists the hosts but opens no private network.
    let closed = engine("http://127.0.0.1,http://localhost,http://169.254.169.254,*");
    let none = engine("");
    // The operator lists the metadata service's address and opens loopback only.
    let hop = engine("http://127.0.0.1,http://169.254.169.254,127.0.0.0/8");
    let json = format!("fetch('{local}/json').then((r) => r.json()).then((b) => b.roles)");
    let cases: Vec<(&str, &Engine, String, Vec<&str>, Value)> = vec![
        (
            "allowed by both",
            &open,
            json.clone(),
            vec!["http://127.0.0.1"],
            json!(["reader"]),
        ),
        (
            "the tenant lists nothing",
            &open,
            json.clone(),
            vec![],
            json!(
                "error: TypeError: fetch failed: http://127.0.0.1 is not in the tenant's egress allow-list (tenant setting actions_egress)"
            ),
        ),
        (
            "the operator lists nothing",
            &none,
            json.clone(),
            vec!["http://127.0.0.1"],
            json!(
                "error: TypeError: fetch failed: http://127.0.0.1 is not in the server's egress allow-list (sigil serve --actions-egress)"
            ),
        ),
        (
            "plain http needs http:// in the list",
            &open,
            json.clone(),
            vec!["127.0.0.1"],
            json!(
                "error: TypeError: fetch failed: http://127.0.0.1 is not in the tenant's egress allow-list (tenant setting actions_egress)"
            ),
        ),
        (
            "loopback is not public",
            &closed,
            json.clone(),
            vec!["http://127.0.0.1"],
            json!("error: TypeError: fetch failed: address not allowed: 127.0.0.1 is not public"),
        ),
        (
            "nor is the cloud's metadata service",
            &closed,
            "fetch('http://169.254.169.254/latest/meta-data/').then((r) => r.status)".to_owned(),
            vec!["http://169.254.169.254"],
            json!(
                "error: TypeError: fetch failed: address not allowed: 169.254.169.254 is not public"
            ),
        ),
        (
            "a name is checked after it is resolved",
            &closed,
            format!("fetch('http://localhost:{port}/json').then((r) => r.status)"),
            vec!["http://localhost"],
            json!(
                "error: TypeError: fetch failed: address not allowed: localhost resolves to 127.0.0.1, which is not public"
            ),
        ),
        (
            "every redirect hop is checked",
            &open,
            format!("fetch('{local}/to?http://localhost:{port}/json').then((r) => r.status)"),
            vec!["http://127.0.0.1"],
            json!(
                "error: TypeError: fetch failed: http://localhost is not in the tenant's egress allow-list (tenant setting actions_egress)"
            ),
        ),
        (
            "a redirect from an allowed host to a private address is refused at the hop",
            &hop,
            format!(
                "fetch('{local}/to?http://169.254.169.254/latest/meta-data/').then((r) => r.status)"
            ),
            vec!["http://127.0.0.1", "http://169.254.169.254"],
            json!(
                "error: TypeError: fetch failed: address not allowed: 169.254.169.254 is not public"
            ),
        ),
        (
            "an allowed redirect is followed",
            &open,
            format!(
                "fetch('{local}/to?/json').then(async (r) => [r.redirected, r.url, await r.text()])"
            ),
            vec!["http://127.0.0.1"],
            json!([true, format!("{local}/json"), r#"{"roles":["reader"]}"#]),
        ),
        (
            "only http(s)",
            &open,
            "fetch('file:///etc/passwd').then((r) => r.status)".to_owned(),
            vec!["*"],
            json!("error: TypeError: fetch failed: file: URLs cannot be fetched"),
        ),
        (
            "a body over 1 MiB is cut off",
            &open,
            format!("fetch('{local}/big').then((r) => r.text())"),
            vec!["http://127.0.0.1"],
            json!("error: TypeError: fetch failed: the response body is larger than 1 MiB"),
        ),
        (
            "a request carries its method, headers and body; no cookie",
            &open,
            format!(
                "fetch('{local}/echo', {{ method: 'POST', headers: {{ 'X-Key': event.secrets.API_KEY, cookie: 'a=b' }}, \
                 body: new URLSearchParams({{ a: '1 2', b: 'é' }}) }}).then((r) => r.json()).then((e) => \
                 [e.method, e.body, e.headers.filter((h) => ['x-key', 'cookie', 'content-type', 'user-agent'].includes(h[0]))])"
            ),
            vec!["http://127.0.0.1"],
            json!([
                "POST",
                "a=1+2&b=%C3%A9",
                [
                    [
                        "content-type",
                        "application/x-www-form-urlencoded;charset=UTF-8"
                    ],
                    ["x-key", "s3cret"],
                    ["user-agent", "Sigil-Actions"],
                ]
            ]),
        ),
        (
            "binary bodies go out byte for byte: a Buffer, a view into part of an array",
            &open,
            format!(
                "Promise.all([fetch('{local}/hex', {{ method: 'POST', body: Buffer.from([0, 1, 254, 255, 128, 65]) }}), \
                 fetch('{local}/hex', {{ method: 'PUT', body: new Uint8Array([9, 8, 7, 6]).subarray(1, 3) }})]) \
                 .then((rs) => Promise.all(rs.map((r) => r.text())))"
            ),
            vec!["http://127.0.0.1"],
            json!(["0001feff8041", "0807"]),
        ),
        (
            "arrayBuffer() gives the bytes as they came, text() the same decoded as UTF-8",
            &open,
            format!(
                "fetch('{local}/bytes').then(async (r) => {{ const copy = r.clone(); \
                 return [[...new Uint8Array(await r.arrayBuffer())], await copy.text(), await r.text().catch((e) => e.message)]; }})"
            ),
            vec!["http://127.0.0.1"],
            json!([
                [0, 1, 254, 255, 128, 65],
                "\u{0}\u{1}\u{fffd}\u{fffd}\u{fffd}A",
                "Body is unusable: Body has already been read"
            ]),
        ),
        (
            "a Response made in the Action: from bytes to text, from text to bytes; no Blob",
            &open,
            "Promise.all([new Response(new Uint8Array([104, 105])).text(), \
             new Response('hé').arrayBuffer().then((b) => [...new Uint8Array(b)]), \
             new Response('x').blob().catch((e) => e.message)])"
                .to_owned(),
            vec![],
            json!([
                "hi",
                [104, 195, 169],
                "Sigil's fetch has no Blob: use arrayBuffer() or text()"
            ]),
        ),
        (
            "Authorization does not follow a redirect to another origin",
            &open,
            format!(
                "fetch('{local}/to?http://localhost:{port}/echo', {{ headers: {{ authorization: 'Bearer t' }} }})\
                 .then((r) => r.json()).then((e) => [e.headers.some((h) => h[0] === 'authorization'), \
                 e.headers.find((h) => h[0] === 'host')[1]])"
            ),
            vec!["http://127.0.0.1", "http://localhost"],
            json!([false, format!("localhost:{port}")]),
        ),
    ];
    for (name, engine, expression, tenant, want) in cases {
        let got = result(engine, on(&claim(&expression), &tenant)).await;
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn an_execution_makes_at_most_twenty_requests_five_at_a_time() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let engine = engine("http://127.0.0.1,127.0.0.0/8");
    let body = claim(&format!(
        "Promise.allSettled(Array.from({{ length: 25 }}, () => fetch('http://127.0.0.1:{}/wait')))\
         .then((all) => [all.filter((s) => s.status === 'fulfilled').length, \
                         all.filter((s) => s.status === 'rejected').map((s) => s.reason.message)[0]])",
        web.port
    ));
    let outcome = engine.run(on(&body, &["http://127.0.0.1"])).await.unwrap();
    let got = &outcome.commands().next().unwrap().args[1];
    assert_eq!(
        got,
        &json!([20, "fetch failed: this execution made 20 requests already"])
    );
    assert!(web.most_at_once.load(Ordering::SeqCst) <= 5);
    // Each request is in the record, without headers or bodies.
    let fetches = &outcome.runs[0].fetches;
    assert_eq!(fetches.len(), 25);
    assert_eq!(fetches.iter().filter(|f| f.status == Some(200)).count(), 20);
    assert_eq!(fetches[0].origin, format!("http://127.0.0.1:{}", web.port));
}

#[tokio::test]
async fn timers_run_while_the_action_waits_and_end_with_it() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let engine = engine("http://127.0.0.1,127.0.0.0/8");
    let slow = format!("http://127.0.0.1:{}/slow", web.port);
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "setTimeout",
            claim("new Promise((resolve) => setTimeout(resolve, 20, 'later'))"),
            json!("later"),
        ),
        (
            "setInterval until cleared",
            claim(
                "new Promise((resolve) => { let n = 0; const t = setInterval(() => { n += 1; \
                 if (n === 3) { clearInterval(t); resolve(n); } }, 5); })",
            ),
            json!(3),
        ),
        (
            "clearTimeout",
            claim(
                "new Promise((resolve) => { const t = setTimeout(() => resolve('fired'), 10); \
                 clearTimeout(t); setTimeout(() => resolve('cleared'), 30); })",
            ),
            json!("cleared"),
        ),
        (
            "AbortController with setTimeout stops a slow request",
            claim(&format!(
                "(() => {{ const c = new AbortController(); setTimeout(() => c.abort(), 50); \
                 return fetch('{slow}', {{ signal: c.signal }}); }})()"
            )),
            json!("error: AbortError: This operation was aborted"),
        ),
        (
            "AbortSignal.timeout",
            claim(&format!(
                "fetch('{slow}', {{ signal: AbortSignal.timeout(50) }})"
            )),
            json!("error: TimeoutError: The operation was aborted due to timeout"),
        ),
        (
            "a timer's callback that throws fails the Action",
            "await new Promise(() => setTimeout(() => { throw new Error('boom'); }, 1));"
                .to_owned(),
            json!({"failed": "Error: boom"}),
        ),
        (
            "a promise nothing can settle, with no timer pending",
            "await new Promise(() => {});".to_owned(),
            json!({"failed": "the Action's handler returned a promise that never settles"}),
        ),
    ];
    for (name, body, want) in cases {
        let execution = on(&body, &["http://127.0.0.1"]);
        let started = tokio::time::Instant::now();
        let got = result(&engine, execution).await;
        assert_eq!(got, want, "{name}");
        if name.contains("slow request") || name.contains("AbortSignal") {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{name}: not aborted"
            );
        }
    }
}

#[tokio::test]
async fn late_callbacks_change_nothing_and_a_slow_host_ends_at_the_deadline() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let engine = Engine::start(Limits {
        execution: Duration::from_millis(1500),
        egress: Arc::new("http://127.0.0.1,127.0.0.0/8".parse().unwrap()),
        ..limits()
    })
    .unwrap();
    // H22: a timer left armed when the handler returns never runs.
    let late = engine
        .run(on(
            "setTimeout(() => api.access.deny('late'), 10); api.idToken.setCustomClaim('r', 1);",
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(late.commands().count(), 1);
    assert!(late.failure().is_none());
    // A request slower than what the execution has left ends the execution in time.
    let started = tokio::time::Instant::now();
    let slow = result(
        &engine,
        on(
            &claim(&format!("fetch('http://127.0.0.1:{}/slow')", web.port)),
            &["http://127.0.0.1"],
        ),
    )
    .await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    let text = slow.to_string();
    assert!(
        text.contains("no answer within") || text.contains("longer than its limit"),
        "{text}"
    );
    // H4: an interval never cleared runs into the execution's deadline.
    let interval = result(
        &engine,
        on(
            "setInterval(() => {}, 1); await new Promise(() => {});",
            &[],
        ),
    )
    .await;
    assert_eq!(
        interval,
        json!({"failed": "the execution took longer than its limit"})
    );
}

/// `require('axios')`: the part of axios Actions use, over `fetch` and under its allow-lists:
/// config and shortcut forms, JSON and form bodies, params, auth, instances, and axios's errors
/// (a status outside 2xx, a timeout, a refused host, an option Sigil does not support).
#[tokio::test]
async fn axios_works_over_fetch_with_its_config_its_responses_and_its_errors() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let local = format!("http://127.0.0.1:{}", web.port);
    let open = engine("http://127.0.0.1,127.0.0.0/8");
    let echo = |expression: &str| {
        format!(
            "{expression}.then((r) => {{ const h = Object.fromEntries(r.data.headers); return [r.data.method, r.data.target, h['content-type'] || null, h['authorization'] || null, h['x-tenant'] || null, r.data.body]; }})"
        )
    };
    let cases: Vec<(&str, String, Vec<&str>, Value)> = vec![
        (
            "get with a base URL",
            "axios.get('/json', { baseURL: LOCAL }).then((r) => [r.status, r.statusText, r.data.roles, r.headers['content-length']])".to_owned(),
            vec!["http://127.0.0.1"],
            json!([200, "OK", ["reader"], "20"]),
        ),
        (
            "post of an object, as JSON, with a header",
            echo("axios.post(LOCAL + '/echo', { a: 1 }, { headers: { 'X-Tenant': 't1' } })"),
            vec!["http://127.0.0.1"],
            json!(["POST", "/echo", "application/json", null, "t1", "{\"a\":1}"]),
        ),
        (
            "bytes go as they are, and come back as a Buffer with responseType arraybuffer",
            "Promise.all([axios.post(LOCAL + '/hex', Buffer.from('héllo')).then((r) => r.data), \
             axios.get(LOCAL + '/bytes', { responseType: 'arraybuffer' }).then((r) => [Buffer.isBuffer(r.data), r.data.toString('hex')])])"
                .to_owned(),
            vec!["http://127.0.0.1"],
            json!(["68c3a96c6c6f", [true, "0001feff8041"]]),
        ),
        (
            "params in the query",
            echo("axios.get(LOCAL + '/echo?x=1', { params: { q: 'a b', n: [1, 2], none: undefined } })"),
            vec!["http://127.0.0.1"],
            json!(["GET", "/echo?x=1&q=a+b&n%5B%5D=1&n%5B%5D=2", null, null, null, ""]),
        ),
        (
            "an instance with auth, posting a form",
            echo("axios.create({ baseURL: LOCAL, auth: { username: 'u', password: 'p' } }).post('/echo', new URLSearchParams({ a: '1' }))"),
            vec!["http://127.0.0.1"],
            json!(["POST", "/echo", "application/x-www-form-urlencoded;charset=utf-8", "Basic dTpw", null, "a=1"]),
        ),
        (
            "the config form, and the default export",
            "require('axios').default({ url: LOCAL + '/json', method: 'get' }).then((r) => r.data.roles)".to_owned(),
            vec!["http://127.0.0.1"],
            json!(["reader"]),
        ),
        (
            "a status outside 2xx rejects with the response",
            "axios.get(LOCAL + '/nothing').catch((e) => [e.name, e.code, e.message, e.response.status, axios.isAxiosError(e), e instanceof axios.AxiosError])".to_owned(),
            vec!["http://127.0.0.1"],
            json!(["AxiosError", "ERR_BAD_REQUEST", "Request failed with status code 404", 404, true, true]),
        ),
        (
            "validateStatus decides",
            "axios.get(LOCAL + '/nothing', { validateStatus: () => true }).then((r) => r.status)".to_owned(),
            vec!["http://127.0.0.1"],
            json!(404),
        ),
        (
            "a timeout",
            "axios.get(LOCAL + '/slow', { timeout: 100 }).catch((e) => [e.code, e.message])".to_owned(),
            vec!["http://127.0.0.1"],
            json!(["ECONNABORTED", "timeout of 100ms exceeded"]),
        ),
        (
            "a host the tenant does not list",
            "axios.get(LOCAL + '/json').catch((e) => [e.code, e.message])".to_owned(),
            vec![],
            json!(["ERR_NETWORK", "fetch failed: http://127.0.0.1 is not in the tenant's egress allow-list (tenant setting actions_egress)"]),
        ),
        (
            "an option Sigil does not support",
            "axios.get(LOCAL + '/json', { transformResponse: [] })".to_owned(),
            vec!["http://127.0.0.1"],
            json!("error: TypeError: axios transformResponse is not supported by Sigil"),
        ),
    ];
    for (what, expression, tenant, expected) in cases {
        let body = format!(
            "const axios = require('axios');\nconst LOCAL = '{local}';\n{}",
            claim(&expression)
        );
        assert_eq!(result(&open, on(&body, &tenant)).await, expected, "{what}");
    }
}

/// A custom OAuth 2.0 connection's profile script, Auth0's `fetchUserProfile(accessToken,
/// ctx, callback)`, as Auth0's documentation writes it: the `request` global over `fetch`
/// (under the same egress rules), the profile as one `profile` command, an error or a
/// non-object as the script's failure, a script that never calls back as one that never
/// settles.
#[tokio::test]
async fn profile_scripts_run_with_request_and_give_one_profile() {
    let _shared = MEASURING.read().await;
    let web = web().await;
    let engine = engine("http://127.0.0.1,127.0.0.0/8");
    let script = |code: String| Execution {
        actions: vec![sigil_actions::Action {
            name: "fetchUserProfile".to_owned(),
            code,
            secrets: serde_json::Map::new(),
            kind: sigil_actions::Kind::ProfileScript,
        }],
        event: json!({"access_token": "at-123", "ctx": {"scope": "profile", "id_token": null}}),
        egress: vec!["http://127.0.0.1".parse::<HostPattern>().unwrap()],
        ..execution(Trigger::PostLogin, &[])
    };
    let port = web.port;
    // As Auth0's docs write it: request.get with a bearer header, the body parsed by hand.
    let documented = format!(
        "function (accessToken, ctx, callback) {{
            request.get({{ url: 'http://127.0.0.1:{port}/echo', headers: {{ Authorization: 'Bearer ' + accessToken }} }},
                function (e, r, b) {{
                    if (e) return callback(e);
                    if (r.statusCode !== 200) return callback(new Error('StatusCode: ' + r.statusCode));
                    const echoed = JSON.parse(b);
                    const auth = echoed.headers.find(function (h) {{ return h[0] === 'authorization'; }});
                    callback(null, {{ user_id: 'u-' + auth[1].slice(7), scope: ctx.scope, method: echoed.method }});
                }});
        }}"
    );
    let outcome = engine.run(script(documented)).await.unwrap();
    assert!(outcome.failure().is_none(), "{:?}", outcome.failure());
    let commands: Vec<_> = outcome.commands().collect();
    assert_eq!(
        commands,
        [&command(
            "profile",
            json!([{"user_id": "u-at-123", "scope": "profile", "method": "GET"}])
        )]
    );
    // `json: true` parses the body; a 404 is the script's to judge.
    let json_mode = format!(
        "function (accessToken, ctx, callback) {{
            request({{ url: 'http://127.0.0.1:{port}/json', json: true }}, function (e, r, body) {{
                callback(null, {{ user_id: 'x', roles: body.roles, status: r.statusCode }});
            }});
        }}"
    );
    let outcome = engine.run(script(json_mode)).await.unwrap();
    assert_eq!(
        outcome.commands().next().unwrap().args[0]["roles"],
        json!(["reader"])
    );
    for (code, failure) in [
        (
            "function (a, c, cb) { cb(new Error('the provider said no')); }".to_owned(),
            "the provider said no",
        ),
        (
            "function (a, c, cb) { cb(null, 'not an object'); }".to_owned(),
            "no profile object",
        ),
        (
            "function (a, c, cb) { }".to_owned(),
            "never settles",
        ),
        (
            // Egress: a host the tenant does not list.
            "function (a, c, cb) { request.get('http://localhost:9/', function (e) { cb(e || new Error('reached')); }); }"
                .to_owned(),
            "egress",
        ),
    ] {
        let outcome = engine.run(script(code.clone())).await.unwrap();
        let error = outcome
            .failure()
            .and_then(|f| f.error.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(error.contains(failure), "{code}: {error}");
        assert_eq!(outcome.commands().count(), 0, "{code}");
    }
    let problems = engine
        .build_profile_script("exports.x = 1;".to_owned())
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
}
