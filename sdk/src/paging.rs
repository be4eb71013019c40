//! Pagination: follow `Link: <…>; rel="next"` headers or a cursor from
//! page to page, with a bound on the number of pages.
//!
//! Both kinds go through [`collect_pages`]: your closure fetches one page
//! given the previous page's continuation (`None` for the first page) and
//! returns its items and the next continuation — the `next` link's URL
//! ([`Response::next_link`](crate::http::Response::next_link)) or the
//! API's cursor. It stops at the last page or after `max_pages`, and says
//! which: a block can return the leftover cursor so an automation can go
//! on later, instead of running into the sandbox's time or memory limits.
//!
//! ```ignore
//! // Link-header pagination (GitHub style).
//! let all = paging::collect_pages(input.max_pages, |next| {
//!     let request = match next {
//!         Some(url) => Request::get(url),
//!         None => Request::get(format!("{base}/issues")).query("per_page", "100"),
//!     };
//!     let response = request.send()?.error_for_status()?;
//!     Ok(Page { next: response.next_link(), items: response.json::<Vec<Issue>>()? })
//! })?;
//!
//! // Cursor pagination (Slack style: `response_metadata.next_cursor`).
//! let all = paging::collect_pages(10, |cursor| {
//!     let mut request = Request::get(format!("{base}/users.list"));
//!     if let Some(c) = cursor {
//!         request = request.query("cursor", c);
//!     }
//!     let page: UsersPage = request.send()?.error_for_status()?.json()?;
//!     Ok(Page { items: page.members, next: page.next_cursor.filter(|c| !c.is_empty()) })
//! })?;
//! ```

use crate::block::BlockError;

/// One page: its items, and what fetches the next one (`None` on the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The items of every page fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected<T> {
    pub items: Vec<T>,
    /// How many pages were fetched.
    pub pages: usize,
    /// `Some` when `max_pages` stopped the walk before the last page: the
    /// continuation of the first page not fetched.
    pub next: Option<String>,
}

/// Fetch pages until the last one or `max_pages` (at least one page is
/// fetched). An error on any page ends the walk with that error. A
/// continuation equal to the previous one ends it too, so an API that
/// keeps answering with the same cursor cannot loop the block.
pub fn collect_pages<T>(
    max_pages: usize,
    mut fetch: impl FnMut(Option<&str>) -> Result<Page<T>, BlockError>,
) -> Result<Collected<T>, BlockError> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = fetch(next.as_deref())?;
        pages += 1;
        items.extend(page.items);
        let repeated = page.next.is_some() && page.next == next;
        next = page.next.filter(|_| !repeated);
        if next.is_none() || pages >= max_pages.max(1) {
            return Ok(Collected { items, pages, next });
        }
    }
}

/// One link of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    /// The relation types, lower-cased (`rel="next last"` gives two).
    pub rels: Vec<String>,
}

impl Link {
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rels.iter().any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// Parse one `Link` header value: `<url>; rel="next", <url2>; rel=last`.
/// Malformed entries are skipped.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let url = rest[open + 1..open + close].trim().to_string();
        rest = &rest[open + close + 1..];
        // Parameters run to the next `<` that starts a link (commas may
        // appear inside quoted parameter values).
        let params_end = next_link_start(rest);
        let params = &rest[..params_end];
        rest = &rest[params_end..];
        let mut rels = Vec::new();
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_end_matches(',').trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_ascii_lowercase));
            }
        }
        links.push(Link { url, rels });
    }
    links
}

/// The index of the `<` that starts the next link (outside quotes), or
/// the end.
fn next_link_start(s: &str) -> usize {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => return i,
            _ => {}
        }
    }
    s.len()
}

/// Resolve a URL reference against `base` (RFC 3986 §5.2, for the forms
/// APIs send: absolute, `//host/…`, `/path`, `?query`, relative paths with
/// `.` and `..`).
pub fn resolve_url(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let Some((scheme, after_scheme)) = base.split_once("://") else {
        return reference.to_string();
    };
    if let Some(net) = reference.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let origin = format!("{scheme}://{}", &after_scheme[..authority_end]);
    let base_path_and_query = &after_scheme[authority_end..];
    let base_path = base_path_and_query
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    if reference.starts_with('?') {
        return format!("{origin}{base_path}{reference}");
    }
    let (ref_path, ref_tail) = match reference.find(['?', '#']) {
        Some(i) => (&reference[..i], &reference[i..]),
        None => (reference, ""),
    };
    let merged = if ref_path.starts_with('/') {
        ref_path.to_string()
    } else {
        let dir = &base_path[..base_path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{dir}{ref_path}")
    };
    format!("{origin}{}{ref_tail}", remove_dot_segments(&merged))
}

fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_parse_with_quotes_commas_and_several_rels() {
        let links = parse_link_header(
            r#"<https://a.io/x?page=2&q=a,b>; rel="next"; title="a, <b>", <https://a.io/x?page=9>; rel="last first""#,
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "https://a.io/x?page=2&q=a,b");
        assert!(links[0].has_rel("next"));
        assert!(links[1].has_rel("LAST") && links[1].has_rel("first"));
        assert_eq!(parse_link_header("garbage"), Vec::new());
        assert_eq!(
            parse_link_header("<https://a.io/>; rel=next")[0].rels,
            ["next"]
        );
    }

    #[test]
    fn references_resolve_like_rfc_3986() {
        let base = "https://a.io/v1/items/list?page=1";
        for (reference, want) in [
            ("https://b.io/z", "https://b.io/z"),
            ("//c.io/p", "https://c.io/p"),
            ("/top?page=2", "https://a.io/top?page=2"),
            ("?page=2", "https://a.io/v1/items/list?page=2"),
            ("other?page=2", "https://a.io/v1/items/other?page=2"),
            ("../up", "https://a.io/v1/up"),
            ("./same/", "https://a.io/v1/items/same/"),
            ("../../../../x", "https://a.io/x"),
        ] {
            assert_eq!(resolve_url(base, reference), want, "{reference}");
        }
        assert_eq!(resolve_url("http://h:8080", "p"), "http://h:8080/p");
    }

    #[test]
    fn pages_stop_at_the_last_at_the_bound_or_on_a_repeated_cursor() {
        let all = collect_pages(10, |cursor| {
            Ok(match cursor {
                None => Page {
                    items: vec![1, 2],
                    next: Some("b".into()),
                },
                Some("b") => Page {
                    items: vec![3],
                    next: None,
                },
                Some(_) => unreachable!(),
            })
        })
        .expect("pages");
        assert_eq!((all.items, all.pages, all.next), (vec![1, 2, 3], 2, None));

        let mut n = 0;
        let bounded = collect_pages(3, |_| {
            n += 1;
            Ok(Page {
                items: vec![n],
                next: Some(format!("c{n}")),
            })
        })
        .expect("pages");
        assert_eq!(bounded.items, vec![1, 2, 3]);
        assert_eq!(bounded.next.as_deref(), Some("c3"));

        let stuck = collect_pages(100, |_| {
            Ok(Page {
                items: vec![0],
                next: Some("same".into()),
            })
        })
        .expect("pages");
        assert_eq!(stuck.pages, 2);
        assert_eq!(stuck.next, None);

        let failed = collect_pages(5, |c: Option<&str>| match c {
            None => Ok(Page {
                items: vec![1],
                next: Some("x".into()),
            }),
            Some(_) => Err(BlockError::transient("boom")),
        });
        assert_eq!(failed.map(|_| ()).unwrap_err().message, "boom");
    }
}
