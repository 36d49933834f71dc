//! The `shenbao` command line: `run`, `inspect`, `samples`. Parsing and exit codes only.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use shenbao::config::Pipeline;
use shenbao::model::{Verdict, HEADER_FIELDS, ITEM_FIELDS};
use shenbao::pipeline::{self, Options};
use shenbao::report::{self, RunSummary};

#[derive(Parser)]
#[command(name = "shenbao", version, about = "Batch review of 巴渝工匠 skills-competition declarations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Return,
    Review,
}

#[derive(Subcommand)]
enum Command {
    /// Review declaration files and folders; write records, review report and roster.
    Run {
        /// files or folders (walked recursively)
        #[arg(default_value = "samples")]
        inputs: Vec<PathBuf>,
        /// the pipeline file: rules, catalogues, label dictionary
        #[arg(long, default_value = "pipelines/bayu-2024.toml")]
        pipeline: PathBuf,
        /// where the outputs go
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// worker threads (default: one per core)
        #[arg(long)]
        jobs: Option<usize>,
        /// exit with status 3 when any declaration's verdict is at or above this
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// print where the time went (CPU seconds of the seal stages against the whole run)
        #[arg(long)]
        timings: bool,
        /// no progress bar and no summary line
        #[arg(long)]
        quiet: bool,
        /// files or folders of paper-era (2019–2023) records, migrated as legacy whatever
        /// their title reads (repeatable; for scans whose title names no year)
        #[arg(long, value_name = "PATH")]
        legacy: Vec<PathBuf>,
        /// where electronic seal readings are kept across runs (default: OUT/.cache); a seal
        /// image read once is not read again, e.g. by the nightly job
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        /// read every seal afresh, keeping nothing across runs
        #[arg(long, conflicts_with = "cache")]
        no_cache: bool,
    },
    /// Show what was read from one document, as JSON (or its text with --text).
    Inspect {
        file: PathBuf,
        /// print the document's text in reading order instead
        #[arg(long)]
        text: bool,
        #[arg(long, default_value = "pipelines/bayu-2024.toml")]
        pipeline: PathBuf,
    },
    /// Write a realistic synthetic set of declarations (forms and summary spreadsheets).
    Samples {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 24)]
        count: usize,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// share of the forms written as scans (image PDF, JPG, PNG, TIFF) instead of PDFs
        #[arg(long, default_value_t = 0.0)]
        scanned: f64,
        /// share of the scans that are legacy (2019–2023) paper-era forms
        #[arg(long, default_value_t = 0.0)]
        legacy: f64,
        #[arg(long, default_value = "pipelines/bayu-2024.toml")]
        pipeline: PathBuf,
    },
}

fn load_pipeline(path: &PathBuf) -> Result<Pipeline, ExitCode> {
    Pipeline::load(path).map_err(|e| {
        eprintln!("shenbao: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    // Tesseract (OpenMP) must be single-threaded; the variable has to be set before the
    // process starts, so this re-executes the program with it when needed
    shenbao::ocr::ensure_single_threaded_env();
    limit_malloc_arenas();
    let cli = Cli::parse();
    match cli.command {
        Command::Run { inputs, pipeline: pipeline_path, out, jobs, fail_on, timings, quiet, legacy, cache, no_cache } => {
            let p = match load_pipeline(&pipeline_path) {
                Ok(p) => p,
                Err(c) => return c,
            };
            if jobs == Some(0) {
                eprintln!("shenbao: --jobs must be at least 1");
                return ExitCode::from(2);
            }
            pipeline::quiet_contained_panics();
            if !no_cache {
                shenbao::seal::cache::use_dir(cache.unwrap_or_else(|| out.join(".cache")));
            }
            let started = chrono::Local::now();
            let progress = !quiet && std::io::stderr().is_terminal();
            let result = pipeline::run(&p, &Options { inputs: inputs.clone(), jobs, progress, legacy });
            let summary = RunSummary {
                pipeline_name: p.meta.name.clone(),
                pipeline_path: pipeline_path.display().to_string(),
                started: started.format("%Y-%m-%d %H:%M:%S").to_string(),
                finished: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
                inputs: inputs.iter().map(|i| i.display().to_string()).collect(),
                files_seen: result.files_seen,
                version: env!("CARGO_PKG_VERSION").to_string(),
                elapsed_secs: result.seconds,
                low_confidence: p.rules.low_confidence.threshold,
            };
            if let Err(e) = report::write_all(&out, &summary, &result.store, &result.file_errors, &result.skipped) {
                eprintln!("shenbao: {e}");
                return ExitCode::from(1);
            }
            let count = |v: Verdict| result.verdicts.iter().filter(|x| **x == v).count();
            if !quiet {
                eprintln!(
                    "shenbao: {} declarations from {} files: {} pass, {} review, {} return; {} files unreadable; {:.1} s; written to {}",
                    result.store.len(),
                    result.files_seen,
                    count(Verdict::Pass),
                    count(Verdict::Review),
                    count(Verdict::Return),
                    result.file_errors.len(),
                    result.seconds,
                    out.display()
                );
            }
            if timings {
                let t = shenbao::seal::stage_times();
                let cpu = process_cpu_secs().max(1e-9);
                let rest = (cpu - t.detect_secs - t.read_secs).max(1e-9);
                eprintln!(
                    "shenbao: timings: {:.2} s wall, {:.2} s CPU; seal detection {:.2} s CPU, seal reading {:.2} s CPU, {} seals read ({} electronic seals seen before); the rest {:.2} s CPU; detection adds {:.1}% to the rest, reading {:.0}%",
                    result.seconds,
                    cpu,
                    t.detect_secs,
                    t.read_secs,
                    t.read,
                    t.cached,
                    rest,
                    100.0 * t.detect_secs / rest,
                    100.0 * t.read_secs / rest,
                );
            }
            let failing = match fail_on {
                None => false,
                Some(FailOn::Return) => count(Verdict::Return) > 0,
                Some(FailOn::Review) => count(Verdict::Return) + count(Verdict::Review) > 0,
            };
            if failing {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Inspect { file, text, pipeline: pipeline_path } => {
            let p = match load_pipeline(&pipeline_path) {
                Ok(p) => p,
                Err(c) => return c,
            };
            if text {
                return match pipeline::document_text(&p, &file) {
                    Ok(t) => {
                        println!("{t}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("shenbao: {}: {} ({})", e.file, e.message, e.detail);
                        ExitCode::from(1)
                    }
                };
            }
            match pipeline::inspect(&p, &file) {
                Ok(pieces) => {
                    let mut decls = shenbao::assemble::assemble(&p, pieces);
                    // the file as a batch of its own: the seal rule and the cross checks too
                    shenbao::check::check_all(&p, &mut decls);
                    let out: Vec<serde_json::Value> = decls.iter().map(inspect_json).collect();
                    let v = if out.len() == 1 { out.into_iter().next().unwrap() } else { serde_json::Value::Array(out) };
                    println!("{}", serde_json::to_string_pretty(&v).unwrap());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{}", serde_json::to_string_pretty(&e).unwrap());
                    eprintln!("shenbao: {}: {} ({})", e.file, e.message, e.detail);
                    ExitCode::from(1)
                }
            }
        }
        Command::Samples { out, count, seed, scanned, legacy, pipeline: pipeline_path } => {
            let p = match load_pipeline(&pipeline_path) {
                Ok(p) => p,
                Err(c) => return c,
            };
            // regenerating over an earlier set replaces it whole (no stale forms left behind)
            if out.join("truth.json").is_file() {
                for sub in ["forms", "sheets", "scans"] {
                    let _ = std::fs::remove_dir_all(out.join(sub));
                }
            }
            if !(0.0..=1.0).contains(&scanned) || !(0.0..=1.0).contains(&legacy) {
                eprintln!("shenbao: --scanned and --legacy are shares between 0 and 1");
                return ExitCode::from(2);
            }
            let opts = shenbao::samples::Options { count, seed, scanned_fraction: scanned, legacy_fraction: legacy };
            match shenbao::samples::generate_with(&p, &out, &opts) {
                Ok(s) => {
                    eprintln!("shenbao: wrote {} ({s})", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("shenbao: samples: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// glibc gives each thread its own malloc arena; with records built on worker threads and
/// parsers' short-lived allocations interleaved in them, that fragments memory and peak RSS
/// grows with the batch. Two arenas keep the run bounded at no measurable speed cost.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// What `inspect` shows for one declaration: each field with its provenance.
fn inspect_json(d: &shenbao::model::Declaration) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut fields = Map::new();
    for (k, _, _) in HEADER_FIELDS {
        fields.insert(k.to_string(), d.get(k).map(|f| f.to_json()).unwrap_or(Value::Null));
    }
    let items: Vec<Value> = d
        .items
        .iter()
        .map(|it| {
            let mut m = Map::new();
            for (k, _, _) in ITEM_FIELDS {
                m.insert(k.to_string(), it.get(k).map(|f| f.to_json()).unwrap_or(Value::Null));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "key": d.key,
        "sources": d.sources,
        "legacy": d.legacy,
        "year": d.year,
        "fields": fields,
        "items": items,
        "seal": shenbao::report::seal_json(&d.seal),
        "findings": d.findings,
    })
}

/// User + system CPU seconds of this process (all threads).
fn process_cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}
