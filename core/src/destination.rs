//! Destinations: where events go, in which backend's format.
//!
//! This module decides what a destination is (a [`DestinationKind`], a base
//! URL and a key), which path each kind posts to, and which [`Wire`] speaks
//! it. It leaves validating URLs to [`crate::config`], which events each
//! destination takes to [`crate::routing`], and every delivery rule to the
//! engine. A client has one destination by default, named
//! [`DEFAULT_DESTINATION`], Segment unless the builder says otherwise; more
//! are added with `ClientBuilder::add_destination` (feature `lanes`), each
//! delivered on its own from the one buffer.

use crate::prelude::*;

#[cfg(feature = "lanes")]
use crate::routing::Routing;
pub use crate::store::DEFAULT_DESTINATION;
#[cfg(feature = "wire-amplitude")]
use crate::wire::AmplitudeWire;
#[cfg(feature = "wire-posthog")]
use crate::wire::PostHogWire;
use crate::wire::{SegmentWire, Wire};

/// Whether Amplitude destinations use the Batch API (`/batch`) rather than
/// HTTP V2 (`/2/httpapi`) unless told: no, HTTP V2.
pub const DEFAULT_AMPLITUDE_BATCH_API: bool = false;

/// The backend format a destination speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DestinationKind {
    /// Segment or RudderStack (or any compatible backend): `POST /v1/batch`,
    /// Basic auth with the write key. The default.
    #[default]
    Segment,
    /// Amplitude: `POST /2/httpapi`, or `POST /batch` with `batch_api`; the
    /// key is the project's API key, sent in the body.
    Amplitude {
        /// Post to the Batch API (`/batch`, higher limits, for large
        /// volumes) instead of HTTP V2 (`/2/httpapi`).
        batch_api: bool,
        /// Amplitude's `options.min_id_length`: the shortest user or device
        /// id it accepts (its own default is 5 characters; cairn sends none
        /// unless set). At least 1.
        min_id_length: Option<u32>,
    },
    /// PostHog: `POST /batch/`; the key is the project API key (`phc_…`),
    /// sent in the body.
    PostHog,
}

impl DestinationKind {
    /// Amplitude's HTTP V2 API with Amplitude's own id-length rule: the
    /// usual choice for Amplitude.
    pub const fn amplitude() -> Self {
        DestinationKind::Amplitude {
            batch_api: DEFAULT_AMPLITUDE_BATCH_API,
            min_id_length: None,
        }
    }

    /// The path this kind posts to, after the endpoint.
    pub fn path(&self) -> &'static str {
        match self {
            DestinationKind::Segment => crate::config::BATCH_PATH,
            DestinationKind::Amplitude {
                batch_api: false, ..
            } => crate::wire::AMPLITUDE_HTTP_API_PATH,
            DestinationKind::Amplitude {
                batch_api: true, ..
            } => crate::wire::AMPLITUDE_BATCH_API_PATH,
            DestinationKind::PostHog => crate::wire::POSTHOG_BATCH_PATH,
        }
    }

    /// Whether this build carries the kind's wire format: Segment always;
    /// Amplitude and PostHog with the core's `wire-amplitude` /
    /// `wire-posthog` features (every native build has them; the browser
    /// package has them when built with cairn-wasm's `amplitude` / `posthog`).
    pub fn built_in(&self) -> bool {
        match self {
            DestinationKind::Segment => true,
            DestinationKind::Amplitude { .. } => cfg!(feature = "wire-amplitude"),
            DestinationKind::PostHog => cfg!(feature = "wire-posthog"),
        }
    }

    /// The name used in `cairn collect`'s output and in options: `segment`,
    /// `amplitude` or `posthog`.
    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::Segment => "segment",
            DestinationKind::Amplitude { .. } => "amplitude",
            DestinationKind::PostHog => "posthog",
        }
    }
}

/// One place events are delivered to.
#[derive(Clone, PartialEq, Eq)]
pub struct Destination {
    /// The name delivery progress is kept under in the buffer file.
    pub name: String,
    /// The format it speaks.
    pub kind: DestinationKind,
    /// Base URL, without a trailing slash (validated by the builder).
    pub endpoint: String,
    /// Write key (Segment) or API key (Amplitude, PostHog).
    pub key: String,
    /// Which events it takes (all by default). Native builds only: the
    /// browser build delivers every event to its one destination.
    #[cfg(feature = "lanes")]
    pub routing: Routing,
    /// Most events in one of its batches; `None`: the client's
    /// `max_batch_events` (for Amplitude at most 2,000 either way).
    #[cfg(feature = "lanes")]
    pub max_batch_events: Option<usize>,
}

impl core::fmt::Debug for Destination {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Without the key: a logged destination must not leak it.
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Destination {
    /// A destination named `name` (its delivery progress is kept under it:
    /// keep it stable across releases), speaking `kind` at the base URL
    /// `endpoint` with `key`; it takes every event until told otherwise.
    pub fn new(
        name: impl Into<String>,
        kind: DestinationKind,
        endpoint: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Destination {
            name: name.into(),
            kind,
            endpoint: endpoint.into(),
            key: key.into(),
            #[cfg(feature = "lanes")]
            routing: Routing::default(),
            #[cfg(feature = "lanes")]
            max_batch_events: None,
        }
    }

    #[cfg(feature = "lanes")]
    /// Takes only events whose name is one of `names` (exact, or a prefix
    /// ending in `*`, as in `"Order *"`); calls without a name (identify,
    /// group, alias) are not concerned.
    pub fn allow_events<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.routing.allow_events = names.into_iter().map(Into::into).collect();
        self
    }

    #[cfg(feature = "lanes")]
    /// Never takes events whose name is one of `names` (exact or prefix `*`).
    pub fn deny_events<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.routing.deny_events = names.into_iter().map(Into::into).collect();
        self
    }

    #[cfg(feature = "lanes")]
    /// Takes only these call types: `track`, `identify`, `alias`, `group`,
    /// `screen`, `page`.
    pub fn call_types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.routing.call_types = types.into_iter().map(Into::into).collect();
        self
    }

    #[cfg(feature = "lanes")]
    /// Takes an event only when every one of `categories` was granted when
    /// it was recorded; revoking one of them purges this destination's
    /// queued events (only its own).
    pub fn consent_categories<S: Into<String>>(
        mut self,
        categories: impl IntoIterator<Item = S>,
    ) -> Self {
        self.routing.consent_categories = categories.into_iter().map(Into::into).collect();
        self
    }

    #[cfg(feature = "lanes")]
    /// Most events in one of its batches (default: the client's `max_batch_events`).
    pub fn max_batch_events(mut self, n: usize) -> Self {
        self.max_batch_events = Some(n);
        self
    }

    /// The wire format that encodes batches for this destination, or
    /// `None` when this build does not carry it (see
    /// [`DestinationKind::built_in`]; `ClientBuilder::config` refuses such a
    /// destination first). `gzip` is honoured where the backend accepts
    /// compressed bodies (Segment, PostHog; Amplitude documents none).
    pub fn wire(&self, gzip: bool) -> Option<Box<dyn Wire>> {
        let _ = gzip;
        match self.kind {
            DestinationKind::Segment => {
                Some(Box::new(SegmentWire::new(&self.endpoint, &self.key, gzip)))
            }
            #[cfg(feature = "wire-amplitude")]
            DestinationKind::Amplitude {
                batch_api,
                min_id_length,
            } => Some(Box::new(AmplitudeWire::new(
                &self.endpoint,
                &self.key,
                batch_api,
                min_id_length,
            ))),
            #[cfg(feature = "wire-posthog")]
            DestinationKind::PostHog => {
                Some(Box::new(PostHogWire::new(&self.endpoint, &self.key, gzip)))
            }
            // `allow`, not `expect`: unreachable only when every wire is built in.
            #[allow(
                unreachable_patterns,
                reason = "the wires a build leaves out fall here; with all of them it is unreachable"
            )]
            _ => None,
        }
    }
}

/// docs/destinations.md's Rust examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "native"))]
#[doc = include_str!("../../docs/destinations.md")]
pub struct DestinationsGuide;
