//! The prelude and its parts as QuickJS bytecode. Parsing them is most of what a fresh runtime
//! costs (about 0.45 ms for all of them, against 0.05 ms to load their bytecode), so each is
//! compiled once per process, from Sigil's own source, and every execution loads the bytecode.
//!
//! Only bytecode made here is ever loaded: QuickJS treats loading bytecode as running native
//! code, so none comes from the outside (tenants' code is always compiled from source). The
//! loading goes through rquickjs's bundle loader, whose bytecode must live for the whole
//! process: the few tens of kilobytes made here do, once.

use std::sync::OnceLock;

use rquickjs::loader::Loader;
use rquickjs::loader::bundle::Bundle;
use rquickjs::module::WriteOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Function, Module, Runtime};

/// Every piece, by name: the prelude, evaluated first in every Action's context, then the parts
/// that most Actions never use, loaded in a context only when it first needs one (`part(name)`
/// in the prelude). Each source is one function expression.
const SOURCES: [(&str, &str); 13] = [
    ("prelude", include_str!("prelude.js")),
    ("rule", include_str!("rule.js")),
    ("profile", include_str!("profile.js")),
    ("console", include_str!("console.js")),
    ("post-login", include_str!("post-login.js")),
    (
        "pre-user-registration",
        include_str!("pre-user-registration.js"),
    ),
    ("cache", include_str!("cache.js")),
    ("timers", include_str!("timers.js")),
    ("web", include_str!("web.js")),
    ("modules", include_str!("modules.js")),
    ("axios", include_str!("axios.js")),
    ("buffer", include_str!("buffer.js")),
    ("redirect", include_str!("redirect.js")),
];

/// The name of the prelude among [`SOURCES`].
pub(crate) const PRELUDE: &str = "prelude";

/// Whether there is a piece named `name` (the triggers whose `api` is a part of its own).
pub(crate) fn has(name: &str) -> bool {
    SOURCES.iter().any(|(piece, _)| *piece == name)
}

type Compiled = &'static [(&'static str, &'static [u8])];

/// The compiled pieces, made on first use; `None` when the engine could not make them (it
/// could not make a runtime then, which fails every execution anyway).
fn compiled() -> Option<Compiled> {
    static COMPILED: OnceLock<Option<Compiled>> = OnceLock::new();
    *COMPILED.get_or_init(|| compile().ok())
}

/// Makes the bytecode now rather than at the first execution; false when it cannot be made.
pub(crate) fn ready() -> bool {
    compiled().is_some()
}

/// Each source of [`SOURCES`] as the default export of a module, compiled in a runtime of its
/// own.
fn compile() -> rquickjs::Result<Compiled> {
    let runtime = Runtime::new()?;
    let context = Context::full(&runtime)?;
    let mut pieces = Vec::with_capacity(SOURCES.len());
    context.with(|ctx| {
        for (name, source) in SOURCES {
            // A new line first: a source may end in a line comment.
            let module = Module::declare(ctx.clone(), name, format!("export default {source}\n;"))?;
            let options = WriteOptions {
                strip_source: true,
                ..WriteOptions::default()
            };
            let bytes: &'static [u8] = Box::leak(module.write(options)?.into_boxed_slice());
            pieces.push((name, bytes));
        }
        Ok::<_, rquickjs::Error>(())
    })?;
    Ok(Box::leak(pieces.into_boxed_slice()))
}

/// The function the piece `name` evaluates to, loaded into `ctx`. A module without top-level
/// `await` finishes as it is evaluated, so no job of the context runs here (the tenant's
/// pending jobs among them, when a part is loaded in the middle of an execution).
pub(crate) fn load<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
    let Some(compiled) = compiled() else {
        return Err(rquickjs::Error::new_loading(name));
    };
    let module = Bundle(compiled).load(ctx, name, None)?;
    let (module, evaluated) = module.eval()?;
    if !matches!(evaluated.state(), PromiseState::Resolved) {
        return Err(rquickjs::Error::new_loading(name));
    }
    module.get("default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_piece_loads_as_a_function_and_unknown_names_do_not() {
        let runtime = Runtime::new().expect("runtime");
        let context = Context::full(&runtime).expect("context");
        context.with(|ctx| {
            for (name, _) in SOURCES {
                assert!(load(&ctx, name).is_ok(), "{name}");
            }
            assert!(load(&ctx, "fs").is_err());
        });
    }
}
