//! The hosted pages: server-rendered templates (`templates/`, embedded at build time,
//! auto-escaped), sent with headers that keep them out of caches and, but for the
//! `web_message` answer that lives in the client's iframe, out of frames.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// What a page may run and who may frame it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Script<'a> {
    /// No script; never framed.
    None,
    /// One inline script with this nonce (form_post); never framed.
    Nonce(&'a str),
    /// One inline script with this nonce, in a frame of this origin only (web_message).
    Framed {
        /// The script's nonce.
        nonce: &'a str,
        /// The only origin that may frame the page.
        ancestor: &'a str,
    },
}

/// The templates, parsed once.
pub(crate) struct Pages(Environment<'static>);

impl Pages {
    pub(crate) fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.add_template("base.html", include_str!("../templates/base.html"))?;
        env.add_template("login.html", include_str!("../templates/login.html"))?;
        env.add_template("error.html", include_str!("../templates/error.html"))?;
        env.add_template(
            "form_post.html",
            include_str!("../templates/form_post.html"),
        )?;
        env.add_template(
            "web_message.html",
            include_str!("../templates/web_message.html"),
        )?;
        env.add_template(
            "logged_out.html",
            include_str!("../templates/logged_out.html"),
        )?;
        // Password reset and email verification (routes/reset.rs).
        for (name, source) in [
            (
                "reset_request.html",
                include_str!("../templates/reset_request.html"),
            ),
            (
                "reset_sent.html",
                include_str!("../templates/reset_sent.html"),
            ),
            (
                "reset_password.html",
                include_str!("../templates/reset_password.html"),
            ),
            (
                "reset_done.html",
                include_str!("../templates/reset_done.html"),
            ),
            (
                "ticket_invalid.html",
                include_str!("../templates/ticket_invalid.html"),
            ),
            (
                "email_verified.html",
                include_str!("../templates/email_verified.html"),
            ),
        ] {
            env.add_template(name, source)?;
        }
        Ok(Pages(env))
    }

    /// `template` rendered with `context`, as a page with `status`. `script` allows the one
    /// inline script of a page that needs one (form_post, web_message).
    pub(crate) fn render<C: Serialize>(
        &self,
        status: StatusCode,
        template: &str,
        context: C,
        script: Script<'_>,
    ) -> Response {
        let body = self
            .0
            .get_template(template)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))));
        let mut response = match body {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template, "template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown.",
                )
                    .into_response()
            }
        };
        let csp = match script {
            // The form_post page posts to the client's redirect URI, so form-action stays open.
            Script::Nonce(nonce) => format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; frame-ancestors 'none'"
            ),
            Script::Framed { nonce, ancestor } => format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors {ancestor}"
            ),
            Script::None => "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                     base-uri 'none'; frame-ancestors 'none'"
                .to_owned(),
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if !matches!(script, Script::Framed { .. }) {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// The error page.
    pub(crate) fn error(&self, tenant: &str, status: StatusCode, message: &str) -> Response {
        self.render(
            status,
            "error.html",
            minijinja::context! { tenant, message },
            Script::None,
        )
    }
}

/// A query string for a handler that answers with pages: malformed, it is the error page
/// saying what was wrong (axum's own rejection would be a bare text line).
pub(crate) struct PageQuery<T>(pub(crate) T);

impl<S: sigil_core::Store, T: serde::de::DeserializeOwned>
    axum::extract::FromRequestParts<crate::App<S>> for PageQuery<T>
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &crate::App<S>,
    ) -> Result<Self, Response> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(PageQuery)
            .map_err(|e| {
                app.pages().error(
                    app.issuer(),
                    StatusCode::BAD_REQUEST,
                    &format!("The request is malformed: {e}."),
                )
            })
    }
}
