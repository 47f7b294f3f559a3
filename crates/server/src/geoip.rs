//! Where an address is, for the Actions' `event.request.geoip`: looked up in a MaxMind DB file
//! (GeoLite2 or GeoIP2 City or Country) the operator names with `sigil serve --geoip-db`, and
//! shown in Auth0's names (`cityName`, `continentCode`, `countryCode`, `countryCode3`,
//! `countryName`, `latitude`, `longitude`, `subdivisionCode`, `subdivisionName`, `timeZone`).
//! Without a database, or for an address it does not know, `geoip` is `{}`, as at Auth0 for an
//! address it cannot place, so `event.request.geoip.continentCode` is `undefined` and never
//! throws.

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};
use sigil_core::model::JsonObject;

/// An opened MaxMind DB, read into memory once.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoIp {
    /// Opens the database at `path`; the error says what is wrong with it, in one line.
    pub fn open(path: &Path) -> Result<Self, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("cannot read the GeoIP database {}: {e}", path.display()))?;
        let kind = &reader.metadata().database_type;
        if !(kind.contains("City") || kind.contains("Country")) {
            return Err(format!(
                "{} is a {kind} database; Sigil reads GeoIP2 or GeoLite2 City and Country databases",
                path.display()
            ));
        }
        Ok(GeoIp { reader })
    }

    /// Where `ip` is, in Auth0's names; `{}` when the database does not know it.
    pub fn locate(&self, ip: IpAddr) -> JsonObject {
        let found = self
            .reader
            .lookup(ip.to_canonical())
            .and_then(|result| result.decode::<maxminddb::geoip2::City<'_>>());
        match found {
            Ok(Some(city)) => auth0_geoip(&city),
            Ok(None) => Map::new(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an address in the GeoIP database");
                Map::new()
            }
        }
    }
}

/// A City record in Auth0's `geoip` names, with only what the record holds.
fn auth0_geoip(city: &maxminddb::geoip2::City<'_>) -> JsonObject {
    let mut geoip = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            geoip.insert(name.to_owned(), value);
        }
    };
    let text = |s: Option<&str>| s.map(|s| Value::String(s.to_owned()));
    let country = city.country.iso_code;
    put("countryCode", text(country));
    put(
        "countryCode3",
        text(
            country
                .and_then(|code| isocountry::CountryCode::for_alpha2(code).ok())
                .map(|code| code.alpha3()),
        ),
    );
    put("countryName", text(city.country.names.english));
    put("cityName", text(city.city.names.english));
    put("continentCode", text(city.continent.code));
    let subdivision = city.subdivisions.first();
    put(
        "subdivisionCode",
        text(subdivision.and_then(|s| s.iso_code)),
    );
    put(
        "subdivisionName",
        text(subdivision.and_then(|s| s.names.english)),
    );
    put("latitude", city.location.latitude.map(Value::from));
    put("longitude", city.location.longitude.map(Value::from));
    put("timeZone", text(city.location.time_zone));
    geoip
}
