//! `cairn plan`: tools for tracking plans (docs/tracking-plans.md).
//!
//! This module only routes the subcommands; each lives in its own module
//! ([`check`]: validate a plan and summarise it; [`import`]: convert a
//! Segment Protocols or RudderStack export into cairn's format;
//! [`codegen`]: typed calls generated from a plan).

pub mod check;
pub mod codegen;
pub mod import;

use std::path::PathBuf;
use std::process::ExitCode;

/// `cairn plan`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
    /// Check a tracking plan as cairn loads it, and print its summary.
    ///
    /// Compiles the plan exactly as a client's `tracking_plan` does: every
    /// unsupported JSON Schema keyword, unknown type or format, `$ref` to
    /// nothing and pattern that does not compile is refused with the JSON
    /// Pointer of where it is. Exits 0 when the plan loads, 2 when it does
    /// not (or cannot be read).
    ///
    /// Example: cairn plan check examples/plans/shop.json
    Check {
        /// The plan's JSON file.
        file: PathBuf,
    },
    /// Convert a vendor's tracking-plan export into cairn's plan format.
    ///
    /// `--from segment` reads a Segment Protocols tracking plan as its APIs
    /// return it (the Config API's `rules.events` with per-event JSON
    /// Schema rules, or the Public API's list of rules); `--from
    /// rudderstack` reads a RudderStack tracking plan with its events (Data
    /// Catalog API). The event, identify and group rules become cairn's;
    /// what cairn cannot enforce (context rules, page and screen rules) is
    /// named on standard error, never dropped silently. The result is
    /// checked as `cairn plan check` does before it is written.
    ///
    /// Example: cairn plan import --from segment segment-plan.json --out plan.json
    Import {
        /// Which vendor's export FILE is.
        #[arg(long, value_enum)]
        from: import::Vendor,
        /// The export's JSON file.
        file: PathBuf,
        /// Write the plan here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The plan's `id` (default: the export's id or name).
        #[arg(long)]
        id: Option<String>,
    },
    /// Generate typed calls from a plan: one function per event.
    ///
    /// Writes one typed function per planned event (required properties as
    /// parameters, optional ones with defaults, enums as enum types, nested
    /// objects as small structs), plus `identify` and `group` when the plan
    /// types their traits, as methods of a small `TrackingPlan` wrapper
    /// around the language's cairn client. Each calls cairn's `track`,
    /// `identify` or `group` underneath, so the core still checks the event
    /// against the plan when it is recorded.
    ///
    /// Refuses (exit 2, naming the plan's path and what to change) what it
    /// cannot type faithfully: JSON Schema keywords outside the plan subset,
    /// enums of non-strings, `$ref` outside local definitions or recursive,
    /// names that would become the same identifier.
    ///
    /// Example: cairn plan codegen --lang kotlin --package com.example.analytics examples/plans/shop.json --out TrackingPlan.kt
    ///
    /// The types per language and how to use them: docs/tracking-plans.md, "Typed calls".
    Codegen(codegen::CodegenArgs),
}

/// Runs a `cairn plan` subcommand: 0 on success, 2 when it could not run.
pub fn main(command: PlanCommand) -> ExitCode {
    let result = match command {
        PlanCommand::Codegen(args) => match codegen::run(&args) {
            Ok(Some(code)) => {
                print!("{code}");
                return ExitCode::SUCCESS;
            }
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        PlanCommand::Check { file } => check::run(&file).map(|summary| {
            print!("{summary}");
        }),
        PlanCommand::Import {
            from,
            file,
            out,
            id,
        } => import::run(from, &file, id.as_deref()).and_then(|imported| {
            for note in &imported.notes {
                eprintln!("note: {note}");
            }
            match out {
                Some(path) => {
                    std::fs::write(&path, &imported.plan).map_err(|source| PlanToolError::Write {
                        path: path.display().to_string(),
                        source,
                    })
                }
                None => {
                    print!("{}", imported.plan);
                    Ok(())
                }
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Why a `cairn plan` tool could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum PlanToolError {
    /// The input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The plan does not load.
    #[error("{path}: {message}")]
    InvalidPlan {
        /// The file.
        path: String,
        /// Where in it and what to change (from the core's plan compiler).
        message: String,
    },
    /// The export is not what the vendor's API returns.
    #[error("{path}: {message}")]
    BadExport {
        /// The file.
        path: String,
        /// What was expected where.
        message: String,
    },
}

/// Reads `path` as text.
pub(crate) fn read(path: &std::path::Path) -> Result<String, PlanToolError> {
    std::fs::read_to_string(path).map_err(|source| PlanToolError::Read {
        path: path.display().to_string(),
        source,
    })
}
