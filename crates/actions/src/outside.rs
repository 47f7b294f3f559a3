//! What an execution waits for outside JavaScript: its timers (`setTimeout`, `setInterval`)
//! and its requests (`fetch`). The prelude asks through four natives, which only note the
//! wish ([`Asked`]); when the Action's JavaScript has nothing left to run, the sandbox calls
//! [`Outside::wait`], which starts what was asked, within the caps, and blocks the worker
//! thread until the first timer falls due, a request is answered, or the execution's deadline
//! passes. So an execution is one thread's event loop, and nothing of it runs on the server's
//! runtime.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rquickjs::{Ctx, Function, Object};
use sigil_core::egress::HostPattern;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use crate::fetch::{Net, Reply, Request};

/// Requests one execution may make, all its Actions together.
pub const REQUESTS: usize = 20;
/// Requests in flight at once; more wait for one to end.
pub const CONCURRENT: usize = 5;
/// Timers armed at once.
const TIMERS: usize = 1000;

/// One `fetch` an Action made, for the execution record and the server's log: never its
/// headers or body (secrets travel there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The method.
    pub method: String,
    /// Where to (scheme, host and port only).
    pub origin: String,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// Why it failed or was refused, if it was.
    pub error: Option<String>,
    /// How long it took.
    pub millis: u64,
}

/// What the Action's JavaScript asked for since the last wait.
#[derive(Default)]
struct Asked {
    requests: VecDeque<(u32, Request)>,
    timers: Vec<(Instant, u32)>,
    aborted: Vec<u32>,
}

/// Why [`Outside::wait`] returned.
pub(crate) enum Woke {
    /// A timer fell due.
    Timer(u32),
    /// A request ended.
    Fetched(u32, Result<Reply, String>),
    /// Nothing is pending: nothing can wake the Action any more.
    Idle,
    /// The execution's time ran out.
    TimedOut,
}

/// One execution's timers and requests.
pub(crate) struct Outside {
    asked: Rc<RefCell<Asked>>,
    tenant: Arc<Vec<HostPattern>>,
    inflight: JoinSet<(u32, Result<Reply, String>)>,
    handles: HashMap<u32, (AbortHandle, usize)>,
    started: usize,
    calls: Vec<(Call, Instant)>,
}

impl Outside {
    /// Nothing asked yet; requests go to hosts in `tenant`'s list (and the operator's).
    pub(crate) fn new(tenant: Vec<HostPattern>) -> Outside {
        Outside {
            asked: Rc::default(),
            tenant: Arc::new(tenant),
            inflight: JoinSet::new(),
            handles: HashMap::new(),
            started: 0,
            calls: Vec::new(),
        }
    }

    /// The natives the prelude asks through: `fetchStart(id, method, url, headers, body,
    /// binary, redirect)` (a `binary` body is a string of one character per byte), `fetchAbort(id)`, `timerStart(id, ms)`, `timerClear(id)`.
    pub(crate) fn natives<'js>(
        &self,
        ctx: &Ctx<'js>,
        natives: &Object<'js>,
    ) -> rquickjs::Result<()> {
        let asked = Rc::clone(&self.asked);
        natives.set(
            "fetchStart",
            Function::new(
                ctx.clone(),
                move |id: u32,
                      method: String,
                      url: String,
                      headers: Vec<Vec<String>>,
                      body: Option<String>,
                      binary: bool,
                      redirect: String| {
                    let headers = headers
                        .into_iter()
                        .filter_map(|pair| match <[String; 2]>::try_from(pair) {
                            Ok([name, value]) => Some((name, value)),
                            Err(_) => None,
                        })
                        .collect();
                    let body = body.map(|text| {
                        if binary {
                            // Each character is a byte (the prelude made it so).
                            text.chars()
                                .map(|c| u8::try_from(u32::from(c)).unwrap_or(u8::MAX))
                                .collect()
                        } else {
                            text.into_bytes()
                        }
                    });
                    let request = Request {
                        method,
                        url,
                        headers,
                        body,
                        redirect,
                    };
                    asked.borrow_mut().requests.push_back((id, request));
                },
            )?,
        )?;
        let asked = Rc::clone(&self.asked);
        natives.set(
            "fetchAbort",
            Function::new(ctx.clone(), move |id: u32| {
                asked.borrow_mut().aborted.push(id);
            })?,
        )?;
        let asked = Rc::clone(&self.asked);
        natives.set(
            "timerStart",
            Function::new(ctx.clone(), move |id: u32, ms: f64| {
                let mut asked = asked.borrow_mut();
                if asked.timers.len() >= TIMERS {
                    return false;
                }
                let ms = if ms.is_finite() && ms > 0.0 {
                    ms.min(1e9)
                } else {
                    0.0
                };
                let due = Instant::now() + Duration::from_micros((ms * 1000.0) as u64);
                asked.timers.push((due, id));
                true
            })?,
        )?;
        let asked = Rc::clone(&self.asked);
        natives.set(
            "timerClear",
            Function::new(ctx.clone(), move |id: u32| {
                asked.borrow_mut().timers.retain(|(_, t)| *t != id);
            })?,
        )?;
        Ok(())
    }

    /// Ends what the last Action left pending (its timers and requests are cancelled, its late
    /// callbacks never run) and gives its requests' record.
    pub(crate) fn end_action(&mut self) -> Vec<Call> {
        self.inflight.abort_all();
        self.inflight = JoinSet::new();
        self.handles.clear();
        *self.asked.borrow_mut() = Asked::default();
        self.calls
            .drain(..)
            .map(|(mut call, at)| {
                if call.status.is_none() && call.error.is_none() {
                    call.error = Some("cancelled: the Action ended first".to_owned());
                    call.millis = at.elapsed().as_millis() as u64;
                }
                call
            })
            .collect()
    }

    /// Starts what was asked and waits, on `net`, for the first thing to happen by `deadline`.
    pub(crate) fn wait(&mut self, net: Option<&Net>, deadline: Instant) -> Woke {
        loop {
            let aborted = std::mem::take(&mut self.asked.borrow_mut().aborted);
            for id in aborted {
                if let Some((handle, call)) = self.handles.remove(&id) {
                    handle.abort();
                    self.settle_call(call, Err("aborted".to_owned()));
                }
                self.asked.borrow_mut().requests.retain(|(r, _)| *r != id);
            }
            while self.handles.len() < CONCURRENT {
                let Some((id, request)) = self.asked.borrow_mut().requests.pop_front() else {
                    break;
                };
                if let Some(refused) = self.start(net, id, request, deadline) {
                    return refused;
                }
            }
            let next_timer = self.asked.borrow().timers.iter().copied().min();
            if self.handles.is_empty() && next_timer.is_none() {
                return Woke::Idle;
            }
            let Some(net) = net else { return Woke::Idle };
            let woke = net.runtime.block_on(async {
                tokio::select! {
                    biased;
                    joined = self.inflight.join_next(), if !self.handles.is_empty() => match joined {
                        Some(Ok((id, result))) => Some(Woke::Fetched(id, result)),
                        _ => None,
                    },
                    () = tokio::time::sleep_until(next_timer.map_or(deadline, |(due, _)| due)), if next_timer.is_some() => {
                        next_timer.map(|(_, id)| Woke::Timer(id))
                    }
                    () = tokio::time::sleep_until(deadline) => Some(Woke::TimedOut),
                }
            });
            match woke {
                Some(Woke::Timer(id)) => {
                    self.asked.borrow_mut().timers.retain(|(_, t)| *t != id);
                    return Woke::Timer(id);
                }
                Some(Woke::Fetched(id, result)) => {
                    let Some((_, call)) = self.handles.remove(&id) else {
                        continue; // aborted meanwhile
                    };
                    self.settle_call(
                        call,
                        result.as_ref().map(|r| r.status).map_err(Clone::clone),
                    );
                    return Woke::Fetched(id, result);
                }
                Some(woke) => return woke,
                None => continue,
            }
        }
    }

    /// Starts request `id`, or answers it at once when it is over the execution's cap.
    fn start(
        &mut self,
        net: Option<&Net>,
        id: u32,
        request: Request,
        deadline: Instant,
    ) -> Option<Woke> {
        let origin = url::Url::parse(&request.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "(not a URL)".to_owned());
        let call = Call {
            method: request.method.to_ascii_uppercase(),
            origin,
            status: None,
            error: None,
            millis: 0,
        };
        self.calls.push((call, Instant::now()));
        let index = self.calls.len() - 1;
        let refuse = |this: &mut Self, why: String| {
            this.settle_call(index, Err(why.clone()));
            Some(Woke::Fetched(id, Err(why)))
        };
        if self.started >= REQUESTS {
            return refuse(
                self,
                format!("this execution made {REQUESTS} requests already"),
            );
        }
        let Some(net) = net else {
            return refuse(self, "fetch is not available here".to_owned());
        };
        self.started += 1;
        let work = net.request(request, Arc::clone(&self.tenant), deadline);
        let handle = self
            .inflight
            .spawn_on(async move { (id, work.await) }, net.runtime.handle());
        self.handles.insert(id, (handle, index));
        None
    }

    fn settle_call(&mut self, index: usize, result: Result<u16, String>) {
        if let Some((call, at)) = self.calls.get_mut(index) {
            call.millis = at.elapsed().as_millis() as u64;
            match result {
                Ok(status) => call.status = Some(status),
                Err(why) => call.error = Some(why),
            }
        }
    }
}
