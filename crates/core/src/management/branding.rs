//! `PATCH /api/v2/branding`: the hosted pages' colours, logo, icon and font, as Auth0 takes
//! them. Every value ends up in a page (a colour in its style sheet, a URL in an attribute and
//! in its Content-Security-Policy), so each is checked to be exactly what it claims: a CSS hex
//! colour, an absolute `https://` URL.

use serde::Deserialize;
use url::Url;

use super::ManagementError;
use crate::model::{Branding, BrandingFont};

/// The patch. Absent properties stay; `null` clears.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingPatch {
    #[serde(default, deserialize_with = "nullable")]
    colors: Option<Option<ColorsPatch>>,
    #[serde(default, deserialize_with = "nullable")]
    logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    favicon_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    font: Option<Option<FontPatch>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorsPatch {
    #[serde(default, deserialize_with = "nullable")]
    primary: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    page_background: Option<Option<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FontPatch {
    url: String,
}

impl super::Body for BrandingPatch {
    const FIELDS: &'static [&'static str] = &["colors", "logo_url", "favicon_url", "font"];
}

/// `Some(None)` for an explicit `null`, `Some(Some(v))` for a value, `None` when absent.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `#rgb` or `#rrggbb`, as Auth0 takes colours.
fn color(field: &str, value: String) -> Result<String, ManagementError> {
    let hex = value.strip_prefix('#').unwrap_or_default();
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err(ManagementError::body(
            field,
            "must be a hex colour such as #0059d6",
        ))
    }
}

/// An absolute `https://` URL with a host, as Auth0's `strict-https-uri`, kept in its
/// normalised form: quotes, angle brackets, spaces and backslashes never survive it, so it is
/// safe in a style sheet's `url("…")` as well as in an attribute.
fn https_url(field: &str, value: String) -> Result<String, ManagementError> {
    match Url::parse(&value) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(url.to_string()),
        _ => Err(ManagementError::body(
            field,
            "must be an absolute https:// URL",
        )),
    }
}

impl BrandingPatch {
    /// Applies the patch to `branding`, refusing (400 naming the property) colours that are
    /// not hex and URLs that are not `https://`.
    pub fn apply(self, branding: &mut Branding) -> Result<(), ManagementError> {
        match self.colors {
            None => {}
            Some(None) => branding.colors = Default::default(),
            Some(Some(colors)) => {
                if let Some(primary) = colors.primary {
                    branding.colors.primary =
                        primary.map(|c| color("colors.primary", c)).transpose()?;
                }
                if let Some(background) = colors.page_background {
                    branding.colors.page_background = background
                        .map(|c| color("colors.page_background", c))
                        .transpose()?;
                }
            }
        }
        if let Some(logo) = self.logo_url {
            branding.logo_url = logo.map(|u| https_url("logo_url", u)).transpose()?;
        }
        if let Some(favicon) = self.favicon_url {
            branding.favicon_url = favicon.map(|u| https_url("favicon_url", u)).transpose()?;
        }
        if let Some(font) = self.font {
            branding.font = font
                .map(|f| https_url("font.url", f.url).map(|url| BrandingFont { url }))
                .transpose()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    fn patched(start: &Branding, body: &str) -> Result<Branding, String> {
        let mut branding = start.clone();
        parse_body::<BrandingPatch>(body.as_bytes())
            .and_then(|p| p.apply(&mut branding))
            .map(|()| branding)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn colours_and_urls_are_checked_merged_and_cleared() {
        let start = patched(
            &Branding::default(),
            r##"{"colors":{"primary":"#0059d6","page_background":"#fff"},
                "logo_url":"https://cdn.example.com/logo.png"}"##,
        )
        .unwrap();
        assert_eq!(start.colors.primary.as_deref(), Some("#0059d6"));
        assert_eq!(start.colors.page_background.as_deref(), Some("#fff"));

        // One colour changes, the other stays; null clears one thing only.
        let one = patched(&start, r##"{"colors":{"primary":"#000000"}}"##).unwrap();
        assert_eq!(one.colors.page_background.as_deref(), Some("#fff"));
        let cleared = patched(&start, r#"{"logo_url":null}"#).unwrap();
        assert_eq!(cleared.logo_url, None);
        assert_eq!(cleared.colors, start.colors);
        assert_eq!(
            patched(&start, r#"{"colors":null}"#).unwrap().colors,
            Default::default()
        );

        let quoted = patched(
            &start,
            r#"{"font":{"url":"https://f.example/a\"b<c>.woff2"}}"#,
        )
        .unwrap();
        assert_eq!(
            quoted.font.unwrap().url,
            "https://f.example/a%22b%3Cc%3E.woff2"
        );

        let refused = |body: &str| patched(&start, body).unwrap_err();
        let cases = [
            (r##"{"colors":{"primary":"red"}}"##, "colors.primary"),
            (r##"{"colors":{"primary":"#12345"}}"##, "colors.primary"),
            (
                r##"{"colors":{"page_background":"#fff;background:url(x)"}}"##,
                "colors.page_background",
            ),
            (
                r##"{"logo_url":"http://cdn.example.com/logo.png"}"##,
                "logo_url",
            ),
            (r##"{"logo_url":"javascript:alert(1)"}"##, "logo_url"),
            (r##"{"favicon_url":"/favicon.ico"}"##, "favicon_url"),
            (
                r##"{"font":{"url":"data:font/woff2;base64,AA"}}"##,
                "font.url",
            ),
            (r##"{"colours":{}}"##, "colours"),
        ];
        for (body, field) in cases {
            let message = refused(body);
            assert!(message.contains(field), "{body}: {message}");
        }
    }
}
