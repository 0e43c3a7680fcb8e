//! `cairn plan`: tools for tracking plans (docs/tracking-plans.md).
//!
//! This module only routes the subcommands; each lives in its own module
//! ([`codegen`]: typed calls generated from a plan).

pub mod codegen;

use std::process::ExitCode;

/// `cairn plan`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
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
    match command {
        PlanCommand::Codegen(args) => match codegen::run(&args) {
            Ok(Some(code)) => {
                print!("{code}");
                ExitCode::SUCCESS
            }
            Ok(None) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
