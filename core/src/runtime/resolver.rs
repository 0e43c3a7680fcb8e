//! Looking a destination's host up once a minute rather than before every
//! batch.
//!
//! ureq resolves the host before each request, whether or not a pooled
//! connection will carry it, and with a timeout set (cairn sets
//! `request_timeout`) it does so on a thread it starts for that lookup: a
//! thread and a DNS query for every batch, on a phone as on a server. This
//! resolver keeps the last answer for [`DNS_CACHE_TTL`]; a failed request
//! forgets it ([`SharedResolver::forget`]), so a host that moved is looked
//! up again at the next try. The lookup itself, its timeout and which
//! addresses to keep stay ureq's.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long an answer is used: a minute, as browsers keep theirs.
pub(crate) const DNS_CACHE_TTL: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Cache {
    inner: DefaultResolver,
    /// The last host looked up (scheme and authority), when, and its answer.
    last: Mutex<Option<(String, Instant, ResolvedSocketAddrs)>>,
    /// Lookups made (for the tests).
    #[cfg(test)]
    lookups: std::sync::atomic::AtomicU64,
}

/// The resolver an HTTP thread's agent uses; a clone forgets for it.
#[derive(Clone, Default)]
pub(crate) struct SharedResolver(Arc<Cache>);

impl std::fmt::Debug for SharedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedResolver")
    }
}

impl SharedResolver {
    /// Drops the answer kept: the next request looks the host up again.
    pub(crate) fn forget(&self) {
        *self.0.last.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl Resolver for SharedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str())
        );
        {
            let last = self.0.last.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((h, at, addrs)) = last.as_ref() {
                if *h == host && at.elapsed() < DNS_CACHE_TTL {
                    return Ok(addrs.clone());
                }
            }
        }
        #[cfg(test)]
        self.0
            .lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let addrs = self.0.inner.resolve(uri, config, timeout)?;
        *self.0.last.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((host, Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    fn lookups(r: &SharedResolver) -> u64 {
        r.0.lookups.load(Ordering::SeqCst)
    }

    /// Requests to one host within the minute look it up once; another
    /// host, or a failed request's `forget`, looks up again.
    #[test]
    fn a_host_is_looked_up_once_until_forgotten() {
        let r = SharedResolver::default();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let config = agent.config();
        let resolve = |url: &str| {
            let uri: Uri = url.parse().unwrap();
            r.resolve(&uri, config, NextTimeout::default())
        };
        let first = resolve("http://localhost:4000/v1/batch").unwrap();
        let again = resolve("http://localhost:4000/v1/batch").unwrap();
        assert_eq!(
            first.iter().collect::<Vec<_>>(),
            again.iter().collect::<Vec<_>>()
        );
        assert_eq!(lookups(&r), 1);
        resolve("http://127.0.0.1:4000/v1/batch").unwrap();
        assert_eq!(lookups(&r), 2, "another host");
        r.forget();
        resolve("http://127.0.0.1:4000/v1/batch").unwrap();
        assert_eq!(lookups(&r), 3, "forgotten");
    }
}
