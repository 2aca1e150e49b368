//! SVG plots of one engine run's samples (executions, coverage, crash files over the
//! campaign's clock), drawn with `plotters`' SVG backend.

use std::path::Path;

use plotters::prelude::*;

use crate::engine::runner::{RunStats, Sample};

/// Draw `run`'s samples into `path`; `Ok(false)` when it has fewer than two.
pub fn run_plot(path: &Path, run: &RunStats, samples: &[Sample]) -> Result<bool, String> {
    let pts: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.engine == run.engine && s.target == run.target)
        .collect();
    if pts.len() < 2 {
        return Ok(false);
    }
    let t0 = pts.iter().map(|s| s.t).fold(f64::INFINITY, f64::min);
    let t1 = pts.iter().map(|s| s.t).fold(0.0, f64::max).max(t0 + 1.0);
    type Get = fn(&Sample) -> Option<f64>;
    let series: [(&str, Get, RGBColor); 3] = [
        ("executions", |s| Some(s.execs as f64), BLUE),
        (
            "coverage (engine's own count)",
            |s| s.coverage.map(|c| c as f64),
            GREEN,
        ),
        ("crash files", |s| Some(s.crash_files as f64), RED),
    ];
    let root = SVGBackend::new(path, (720, 540)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let root = root
        .titled(
            &format!("{} {} ({} samples)", run.engine, run.target, pts.len()),
            ("sans-serif", 18),
        )
        .map_err(|x| e(&x))?;
    for (area, (name, get, color)) in root.split_evenly((3, 1)).iter().zip(series) {
        let data: Vec<(f64, f64)> = pts
            .iter()
            .filter_map(|s| get(s).map(|v| (s.t, v)))
            .collect();
        let ymax = data.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.05;
        let mut chart = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 13))
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(60)
            .build_cartesian_2d(t0..t1, 0.0..ymax)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("seconds since the campaign start")
            .light_line_style(WHITE)
            .draw()
            .map_err(|x| e(&x))?;
        chart
            .draw_series(LineSeries::new(data, color.stroke_width(2)))
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(true)
}
