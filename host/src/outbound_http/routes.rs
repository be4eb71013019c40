//! Operator routing: send requests for one origin to another address, e.g.
//! `https://slack.com` to a staging mock at `http://127.0.0.1:4567`.
//!
//! This is an operator setting ([`RuntimeBuilder::route_origin`]), never
//! reachable by a connector: the declaration, the grant, the literal-IP
//! check and credential injection all use the URL the connector asked for,
//! and the history records that URL; only the connection is made to the
//! route's target (scheme, host and port rewritten right before sending).
//! A target given as an IP literal is connected to as is (the operator
//! chose it); a target given as a name is resolved like any other, so the
//! address policy still applies to it.
//!
//! [`RuntimeBuilder::route_origin`]: crate::RuntimeBuilder::route_origin

use url::Url;

/// `scheme://host[:port]` of an origin, host lower-cased, port explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{text:?}: the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{text:?}: an origin has no user info"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?}: give an origin (scheme://host[:port]), without path or query"
            ));
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(format!("{text:?}: an origin needs a host"));
        };
        Ok(Origin {
            scheme: url.scheme().to_string(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
}

/// The operator's routes, `from` origin → `to` origin.
#[derive(Debug, Clone, Default)]
pub struct OriginRoutes(Vec<(Origin, Origin)>);

impl OriginRoutes {
    /// Add a route; a later route for the same `from` replaces the earlier.
    pub fn add(&mut self, from: &str, to: &str) -> Result<(), String> {
        let from = Origin::parse(from)?;
        let to = Origin::parse(to)?;
        self.0.retain(|(f, _)| *f != from);
        self.0.push((from, to));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where to connect for `url`: `None` when no route applies, else the
    /// same URL with scheme, host and port of the route's target.
    pub fn connect_url(&self, url: &Url) -> Option<Url> {
        if self.0.is_empty() {
            return None;
        }
        let origin = Origin::of(url)?;
        let (_, to) = self.0.iter().find(|(from, _)| *from == origin)?;
        let mut target = url.clone();
        // http ↔ https and a host of either kind are always settable on an
        // http(s) URL; a failure would only mean an unroutable URL.
        target.set_scheme(&to.scheme).ok()?;
        target.set_host(Some(&to.host)).ok()?;
        target.set_port(Some(to.port)).ok()?;
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn rewrites_only_the_routed_origin() {
        let mut routes = OriginRoutes::default();
        routes
            .add("https://Slack.com", "http://127.0.0.1:4567")
            .expect("route");
        routes
            .add("http://api.io:8080/", "https://[::1]")
            .expect("route");
        let routed = routes
            .connect_url(&url("https://slack.com:443/api/chat.postMessage?x=1"))
            .expect("routed");
        assert_eq!(
            routed.as_str(),
            "http://127.0.0.1:4567/api/chat.postMessage?x=1"
        );
        assert_eq!(
            routes
                .connect_url(&url("http://api.io:8080/v1"))
                .expect("routed")
                .as_str(),
            "https://[::1]/v1"
        );
        for other in [
            "http://slack.com/",
            "https://slack.com:8443/",
            "https://api.slack.com/",
            "http://api.io/v1",
        ] {
            assert_eq!(routes.connect_url(&url(other)), None, "{other}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        let mut routes = OriginRoutes::default();
        for (from, to) in [
            ("slack.com", "http://127.0.0.1:1"),
            ("ftp://slack.com", "http://127.0.0.1:1"),
            ("https://slack.com/api", "http://127.0.0.1:1"),
            ("https://slack.com", "http://u:p@127.0.0.1:1"),
            ("https://slack.com", "http://127.0.0.1:1/?q"),
        ] {
            assert!(routes.add(from, to).is_err(), "{from} → {to}");
        }
        assert!(routes.is_empty());
    }
}
