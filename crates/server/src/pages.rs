//! The hosted pages: server-rendered templates (`templates/`, embedded at build time,
//! auto-escaped; an operator's directory of `*.html` files replaces any of them by name),
//! branded from the tenant's settings (name, logo, icon, font, colours), and sent with headers
//! that keep them out of caches and, but for the `web_message` answer that lives in the
//! client's iframe, out of frames.

use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use sigil_core::model::TenantSettings;
use sigil_core::{Store, UnixTime};

/// What a page may run and who may frame it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Script<'a> {
    /// No script; never framed.
    None,
    /// No script; never framed; a form posting to Sigil whose answer may redirect the browser to
    /// the client's redirect URI (this one). CSP's `form-action` also governs the redirects
    /// that follow a form's submission, so that URI's origin is allowed beside `'self'`.
    FormToClient(&'a str),
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

/// The embedded templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "mfa_enrol.html",
        include_str!("../templates/mfa_enrol.html"),
    ),
    (
        "mfa_challenge.html",
        include_str!("../templates/mfa_challenge.html"),
    ),
    (
        "mfa_recovery_code.html",
        include_str!("../templates/mfa_recovery_code.html"),
    ),
    (
        "mfa_enrolled.html",
        include_str!("../templates/mfa_enrolled.html"),
    ),
    (
        "unblocked.html",
        include_str!("../templates/unblocked.html"),
    ),
    (
        "provider_icon.html",
        include_str!("../templates/provider_icon.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
    (
        "web_message.html",
        include_str!("../templates/web_message.html"),
    ),
    (
        "logged_out.html",
        include_str!("../templates/logged_out.html"),
    ),
    ("consent.html", include_str!("../templates/consent.html")),
    // Passwordless login by a code (routes/passwordless.rs).
    (
        "passwordless_start.html",
        include_str!("../templates/passwordless_start.html"),
    ),
    (
        "passwordless_code.html",
        include_str!("../templates/passwordless_code.html"),
    ),
    // An Action's page, after a form (routes::authorize::Via).
    ("leaving.html", include_str!("../templates/leaving.html")),
    // Password reset and email verification (routes/reset.rs).
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
    // The signup page (routes/signup.rs).
    ("signup.html", include_str!("../templates/signup.html")),
    // The password workers are all taken (hasher.rs): 503, try again shortly.
    ("busy.html", include_str!("../templates/busy.html")),
];

/// What the tenant's branding puts in every page (`brand` in the templates). Colours and URLs
/// were checked when they were set (`sigil_core::management::BrandingPatch`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Brand {
    /// The tenant's friendly name.
    pub(crate) name: String,
    /// The logo: the branding's, else the tenant's `picture_url`.
    pub(crate) logo_url: Option<String>,
    pub(crate) favicon_url: Option<String>,
    pub(crate) font_url: Option<String>,
    /// Buttons, links, focus rings.
    pub(crate) primary: Option<String>,
    /// Behind the card.
    pub(crate) background: Option<String>,
    /// The text on `primary` (buttons): black or white, whichever reads better.
    pub(crate) on_primary: Option<&'static str>,
}

/// The text colour that reads best on `background` (`#rgb` or `#rrggbb`): black or white,
/// whichever has the higher WCAG contrast ratio.
fn text_on(background: &str) -> &'static str {
    let hex = background.trim_start_matches('#');
    let channel = |i: usize| -> f64 {
        let value = if hex.len() == 3 {
            u8::from_str_radix(&hex[i..=i], 16).map(|v| v * 17)
        } else {
            u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16)
        };
        let c = f64::from(value.unwrap_or(0)) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    // Contrast with white is 1.05 / (L + 0.05), with black (L + 0.05) / 0.05.
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    }
}

impl Brand {
    pub(crate) fn of(settings: &TenantSettings) -> Self {
        let branding = &settings.branding;
        Brand {
            name: settings.friendly_name.clone(),
            logo_url: branding
                .logo_url
                .clone()
                .or_else(|| settings.picture_url.clone()),
            favicon_url: branding.favicon_url.clone(),
            font_url: branding.font.as_ref().map(|f| f.url.clone()),
            primary: branding.colors.primary.clone(),
            background: branding.colors.page_background.clone(),
            on_primary: branding.colors.primary.as_deref().map(text_on),
        }
    }

    /// The CSP sources the brand's images and font need, and `image`'s (an application's logo
    /// on its login page): their origins, nothing wider.
    fn sources(&self, image: Option<&str>) -> String {
        let origin = |url: &Option<String>| {
            url.as_deref()
                .and_then(|u| url::Url::parse(u).ok())
                .map(|u| u.origin().ascii_serialization())
                .filter(|o| o != "null")
        };
        let mut images: Vec<String> = [
            origin(&self.logo_url),
            origin(&self.favicon_url),
            origin(&image.map(str::to_owned)),
        ]
        .into_iter()
        .flatten()
        .filter(|o| o.starts_with("https://") || o.starts_with("http://"))
        .collect();
        images.sort();
        images.dedup();
        let mut sources = String::new();
        if !images.is_empty() {
            sources.push_str(&format!("; img-src {}", images.join(" ")));
        }
        if let Some(font) = origin(&self.font_url) {
            sources.push_str(&format!("; font-src {font}"));
        }
        sources
    }
}

/// The brand as last read, and when.
struct Branded {
    brand: Arc<Brand>,
    read_at: Option<UnixTime>,
}

/// The templates, parsed once, and the tenant's brand.
pub(crate) struct Pages {
    env: Environment<'static>,
    brand: RwLock<Branded>,
}

impl Pages {
    /// The embedded templates, each replaced by the file of the same name in `overrides` when
    /// there is one (files the build does not embed are added, for templates to include).
    pub(crate) fn new(overrides: Option<&Path>) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        if let Some(dir) = overrides {
            for (name, source) in override_files(dir)? {
                env.add_template_owned(name, source)?;
            }
        }
        Ok(Pages {
            env,
            brand: RwLock::new(Branded {
                brand: Arc::new(Brand {
                    name: TenantSettings::default().friendly_name,
                    ..Brand::default()
                }),
                read_at: None,
            }),
        })
    }

    /// The brand in use.
    fn brand(&self) -> Arc<Brand> {
        self.brand
            .read()
            .map(|b| Arc::clone(&b.brand))
            .unwrap_or_default()
    }

    /// Uses `brand` from now on (read from the store at `now`).
    pub(crate) fn set_brand(&self, brand: Brand, now: UnixTime) {
        if let Ok(mut slot) = self.brand.write() {
            *slot = Branded {
                brand: Arc::new(brand),
                read_at: Some(now),
            };
        }
    }

    /// Whether the brand was read less than [`crate::CACHE_TTL`] seconds before `now`.
    fn brand_is_fresh(&self, now: UnixTime) -> bool {
        self.brand
            .read()
            .ok()
            .and_then(|b| b.read_at)
            .is_some_and(|at| now.0 >= at.0 && now.0 - at.0 < crate::CACHE_TTL)
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
        self.render_with_image(status, template, context, script, None)
    }

    /// As [`Pages::render`], for a page that also shows the image at `image` (an
    /// application's logo): its origin joins the Content-Security-Policy's `img-src`.
    pub(crate) fn render_with_image<C: Serialize>(
        &self,
        status: StatusCode,
        template: &str,
        context: C,
        script: Script<'_>,
        image: Option<&str>,
    ) -> Response {
        let brand = self.brand();
        let body = self.env.get_template(template).and_then(|t| {
            t.render(minijinja::context! {
                brand => minijinja::Value::from(minijinja::value::Serde(brand.as_ref())),
                ..minijinja::Value::from(minijinja::value::Serde(&context))
            })
        });
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
        let sources = brand.sources(image);
        let csp = match script {
            // The form_post page posts to the client's redirect URI, so form-action stays open.
            Script::Nonce(nonce) => format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; frame-ancestors 'none'"
            ),
            Script::Framed { nonce, ancestor } => format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors {ancestor}"
            ),
            Script::None => format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                 base-uri 'none'; frame-ancestors 'none'{sources}"
            ),
            Script::FormToClient(redirect_uri) => {
                let target = form_target(redirect_uri)
                    .map(|source| format!(" {source}"))
                    .unwrap_or_default();
                format!(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{target}; \
                     base-uri 'none'; frame-ancestors 'none'{sources}"
                )
            }
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
    pub(crate) fn error(&self, status: StatusCode, message: &str) -> Response {
        self.render(
            status,
            "error.html",
            minijinja::context! { message },
            Script::None,
        )
    }

    /// The page for a failure of Sigil's own, whose cause is logged here, once. When the
    /// database cannot serve right now: 503 with `Retry-After`, saying to try again shortly;
    /// otherwise 500.
    pub(crate) fn failed(&self, error: &impl Outage, what: &str) -> Response {
        if error.is_unavailable() {
            tracing::error!(error = %error, "{what}: the database is unavailable");
            let mut response = self.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server cannot reach its database right now. Nothing was changed; \
                 try again in a few seconds.",
            );
            crate::error::insert_retry_after(
                response.headers_mut(),
                crate::error::DATABASE_RETRY_AFTER,
            );
            response
        } else {
            tracing::error!(error = %error, "{what}");
            self.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server failed; try again later.",
            )
        }
    }

    /// The page saying the server is too busy to check a password now: 503 with `Retry-After`.
    pub(crate) fn busy(&self, busy: sigil_core::password::Busy) -> Response {
        let mut response = self.render(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy.html",
            minijinja::context! {},
            Script::None,
        );
        crate::error::insert_retry_after(response.headers_mut(), busy.retry_after_secs);
        response
    }
}

/// The `*.html` files of `dir`, by file name.
fn override_files(dir: &Path) -> Result<Vec<(String, String)>, minijinja::Error> {
    let failed = |what: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, what);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        failed(format!(
            "cannot read the templates directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| failed(format!("cannot read {}: {e}", dir.display())))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".html") || !path.is_file() {
            continue;
        }
        let source = std::fs::read_to_string(&path)
            .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
        files.push((name.to_owned(), source));
    }
    Ok(files)
}

/// Before a page route: the tenant's brand, read again when it is [`crate::CACHE_TTL`] seconds
/// old, so a change made on another node shows within that time (this node's own Management
/// API changes show at once).
pub(crate) async fn fresh_brand<S: Store>(
    State(app): State<crate::App<S>>,
    request: Request,
    next: Next,
) -> Response {
    let now = app.now();
    if !app.pages().brand_is_fresh(now) {
        match app.store().tenant_settings().await {
            Ok(settings) => {
                app.pages()
                    .set_brand(Brand::of(&settings.unwrap_or_default()), now);
            }
            // The last brand read keeps serving; the page still works.
            Err(e) => tracing::warn!(error = %e, "cannot read the branding"),
        }
    }
    next.run(request).await
}

/// The CSP source expression (CSP3 §2.3.1) that lets a form's answer redirect to
/// `redirect_uri`: its origin for a URL with an authority (`https://app.example.com:8443`), its
/// scheme for a native application's private-use scheme (`com.example.app:`). `None` when it is
/// neither, or holds a character a source expression cannot, such as a space, `;` or `*`: the
/// page then allows only `'self'`, and the browser stops the redirect rather than the header
/// saying more than meant.
fn form_target(redirect_uri: &str) -> Option<String> {
    let (scheme, rest) = redirect_uri.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let Some(after_slashes) = rest.strip_prefix("//") else {
        // A scheme-source for http(s) would allow every site.
        let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        return (!web).then(|| format!("{scheme}:"));
    };
    let authority = after_slashes
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let authority_ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    authority_ok.then(|| format!("{scheme}://{authority}"))
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
                    StatusCode::BAD_REQUEST,
                    &format!("The request is malformed: {e}."),
                )
            })
    }
}

/// A failure of Sigil's own that may be the database being out of reach for now.
pub(crate) trait Outage: std::fmt::Display {
    /// Whether the database cannot serve right now.
    fn is_unavailable(&self) -> bool;
}

impl Outage for sigil_core::StoreError {
    fn is_unavailable(&self) -> bool {
        sigil_core::StoreError::is_unavailable(self)
    }
}

impl Outage for sigil_core::oauth::FlowError {
    fn is_unavailable(&self) -> bool {
        sigil_core::oauth::FlowError::is_unavailable(self)
    }
}

/// The language a browser prefers most, from `Accept-Language` (`es-ES;q=0.9, en` → `es`):
/// Auth0's `event.request.language`.
pub(crate) fn language(headers: &axum::http::HeaderMap) -> Option<String> {
    let header = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(f32, &str)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next()?.trim();
        let quality = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if tag.is_empty() || tag == "*" {
            continue;
        }
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, tag));
        }
    }
    best.map(|(_, tag)| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase())
}

#[cfg(test)]
mod language_tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn the_most_preferred_language_is_its_primary_tag() {
        for (header, expected) in [
            ("es-ES;q=0.9, fr;q=0.5", Some("es")),
            ("fr;q=0.5, en-GB", Some("en")),
            ("*", None),
            ("", None),
            ("DE", Some("de")),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(header));
            assert_eq!(super::language(&headers).as_deref(), expected, "{header}");
        }
        assert_eq!(super::language(&HeaderMap::new()), None);
    }
}
