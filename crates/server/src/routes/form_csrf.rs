//! The signed double-submit pair (`sigil_core::csrf`) of the hosted forms that follow mailed
//! links (the reset pages, the enrolment page): a hidden field sealed under the transaction
//! key for one form's purpose, and its value in an HttpOnly, SameSite=Strict cookie scoped to
//! the forms' path.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sigil_core::{Store, UnixTime, csrf};

use super::authorize::cookie;
use crate::App;
use crate::pages::Script;

/// Seconds a form stays usable.
const FORM_WINDOW: i64 = 3600;

/// The page a refused form answers with.
pub(crate) const CSRF_REFUSED: &str = "This form was not sent from the page Sigil showed, or \
    it was open for too long (cookies may be off). Open the page again and send it from there.";

/// A family of forms: its CSRF cookie and the path the cookie is sent to.
pub(crate) struct FormCsrf {
    /// The cookie's name.
    pub(crate) cookie: &'static str,
    /// Its path.
    pub(crate) path: &'static str,
}

impl FormCsrf {
    /// `template` with a fresh pair for `purpose`: the field goes into `context` as `csrf`.
    pub(crate) fn render<S: Store>(
        &self,
        app: &App<S>,
        purpose: &str,
        status: StatusCode,
        template: &str,
        mut context: serde_json::Value,
    ) -> Response {
        let pair = csrf::issue(
            app.transaction_key(),
            app.rng(),
            purpose,
            UnixTime(app.now().0 + FORM_WINDOW),
        );
        context["csrf"] = pair.field.into();
        let mut response = app.pages().render(status, template, context, Script::None);
        let secure = if app.secure_cookies() { "; Secure" } else { "" };
        let value = format!(
            "{}={}; Path={}; HttpOnly; SameSite=Strict{secure}",
            self.cookie, pair.cookie, self.path
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    /// Whether the form's `field` for `purpose` matches the request's cookie, in time.
    pub(crate) fn ok<S: Store>(
        &self,
        app: &App<S>,
        headers: &HeaderMap,
        purpose: &str,
        field: &str,
    ) -> bool {
        csrf::check(
            app.transaction_key(),
            purpose,
            field,
            cookie(headers, self.cookie).as_deref(),
            app.now(),
        )
    }
}
