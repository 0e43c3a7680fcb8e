//! `cairn plan check FILE`: load a plan exactly as a client does and say
//! what it holds. The rules are the core's (`cairn::plan`); this module
//! only reads the file and words the summary.

use std::fmt::Write as _;
use std::path::Path;

use cairn::plan::TrackingPlan;

use super::{read, PlanToolError};

/// Checks the plan in `path`; its summary, or where it is wrong.
pub fn run(path: &Path) -> Result<String, PlanToolError> {
    let text = read(path)?;
    let plan = TrackingPlan::parse(&text).map_err(|e| PlanToolError::InvalidPlan {
        path: path.display().to_string(),
        message: e.text(),
    })?;
    Ok(summary(&plan))
}

/// What `cairn plan check` prints for a plan that loads.
pub fn summary(plan: &TrackingPlan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "tracking plan {} version {}: valid",
        plan.id(),
        plan.version()
    );
    let _ = writeln!(
        out,
        "policy {}; unplanned events: {}",
        plan.policy().name(),
        plan.unplanned().name()
    );
    let events: Vec<_> = plan.events().collect();
    let _ = writeln!(out, "events ({}):", events.len());
    let width = events
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0);
    for e in &events {
        let version = e
            .version
            .map(|v| format!(" v{}", v.to_text().trim_matches('"')))
            .unwrap_or_default();
        let _ = write!(
            out,
            "  {:width$}{:5} {:5} {} properties, {} required",
            e.name,
            version,
            e.policy.name(),
            e.properties,
            e.required,
        );
        if let Some(d) = e.description.filter(|d| !d.is_empty()) {
            let _ = write!(out, " ({d})");
        }
        out.push('\n');
    }
    let (identify, group) = plan.plans_traits();
    let said = |on: bool| if on { "planned" } else { "not planned" };
    let _ = writeln!(
        out,
        "identify traits: {}; group traits: {}",
        said(identify),
        said(group)
    );
    out
}
