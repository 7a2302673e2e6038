//! The picture of a run: congestion window, bytes in flight, smoothed RTT
//! and goodput of every flow against virtual time, one panel each, and
//! the bottleneck's queueing delay, as PNG or SVG (chosen by the file's
//! extension).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use synack_sim::Report;

/// One quantity plotted per flow.
struct Panel {
    title: &'static str,
    unit: &'static str,
    /// (t, value) per flow, or one line for the bottleneck.
    lines: Vec<Vec<(f64, f64)>>,
    /// The one line is the bottleneck's, not a flow's.
    bottleneck: bool,
}

/// Goodput between samples, averaged over about `window` seconds so a
/// delayed ACK or a pacing gap does not make the line jump to zero.
fn goodput(series: &[synack_sim::Sample], window: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(series.len());
    let mut from = 0;
    for (i, s) in series.iter().enumerate() {
        while from < i && s.t - series[from].t > window {
            from += 1;
        }
        let base = &series[from];
        let dt = s.t - base.t;
        if dt > 0.0 {
            out.push((s.t, (s.delivered - base.delivered) as f64 * 8.0 / dt / 1e6));
        }
    }
    out
}

fn panels(report: &Report) -> Vec<Panel> {
    let flows = &report.flows;
    // About ten samples per goodput point, at least 100 ms.
    let step = flows
        .iter()
        .find_map(|f| f.series.get(1).map(|s| s.t - f.series[0].t))
        .unwrap_or(0.01);
    let window = (10.0 * step).max(0.1);
    let per_flow = |f: fn(&synack_sim::Sample) -> Option<f64>| {
        flows
            .iter()
            .map(|fl| {
                fl.series
                    .iter()
                    .filter_map(|s| f(s).map(|v| (s.t, v)))
                    .collect()
            })
            .collect()
    };
    vec![
        Panel {
            title: "congestion window",
            unit: "KB",
            lines: per_flow(|s| Some(s.cwnd as f64 / 1e3)),
            bottleneck: false,
        },
        Panel {
            title: "bytes in flight",
            unit: "KB",
            lines: per_flow(|s| Some(s.bytes_in_flight as f64 / 1e3)),
            bottleneck: false,
        },
        Panel {
            title: "smoothed RTT",
            unit: "ms",
            lines: per_flow(|s| s.srtt_ms),
            bottleneck: false,
        },
        Panel {
            title: "goodput",
            unit: "Mbit/s",
            lines: flows.iter().map(|f| goodput(&f.series, window)).collect(),
            bottleneck: false,
        },
        Panel {
            title: "bottleneck queueing delay (data direction, mean per sample)",
            unit: "ms",
            lines: vec![report.queue_series.clone()],
            bottleneck: true,
        },
    ]
}

/// Registers the embedded font once; plotters has no other source of
/// glyphs in this build (no system font lookup).
fn register_font() -> Result<(), String> {
    static ONCE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded font could not be loaded".to_string())
    })
    .clone()
}

/// Draws the report into `path` (`.png` or `.svg`).
pub fn draw(report: &Report, path: &Path) -> Result<(), String> {
    register_font()?;
    let size = (1200, 1700);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            render(report, &root)?;
            root.present().map_err(|e| e.to_string())
        }
        Some("svg") => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            render(report, &root)?;
            root.present().map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "{}: the plot file must end in .png or .svg",
            path.display()
        )),
    }
}

fn render<DB: DrawingBackend>(report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let s = &report.summary;
    let title = format!(
        "{} (seed {}): {:.1} s virtual, utilisation {:.0} %, Jain {:.3}",
        s.scenario,
        s.seed,
        s.virtual_seconds,
        s.link_utilization * 100.0,
        s.jain_index
    );
    let root = root.titled(&title, ("sans-serif", 24)).map_err(err)?;
    let t_end = report
        .flows
        .iter()
        .filter_map(|f| f.series.last().map(|p| p.t))
        .fold(s.virtual_seconds.min(1e-3), f64::max);
    let panels = panels(report);
    let areas = root.split_evenly((panels.len(), 1));
    let legend = report.flows.len() <= 8;
    for (panel, area) in panels.iter().zip(&areas) {
        let y_max = panel
            .lines
            .iter()
            .flatten()
            .map(|p| p.1)
            .fold(0.0, f64::max)
            .max(1e-3)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..t_end, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(panel.unit)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, line) in panel.lines.iter().enumerate() {
            let color = if panel.bottleneck {
                BLACK.to_rgba()
            } else {
                Palette99::pick(i).to_rgba()
            };
            let label = if panel.bottleneck {
                format!("bottleneck ({})", report.summary.aqm)
            } else {
                format!("flow {} ({})", i + 1, report.summary.flows[i].cc)
            };
            let series = chart
                .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(2)))
                .map_err(err)?;
            if legend || panel.bottleneck {
                series
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
            }
        }
        if legend || panel.bottleneck {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_sim::Sample;

    fn sample(t: f64, delivered: u64) -> Sample {
        Sample {
            t,
            cwnd: 0,
            ssthresh: None,
            srtt_ms: None,
            rttvar_ms: 0.0,
            rto_ms: 0.0,
            bytes_in_flight: 0,
            pacing_rate: 0,
            delivered,
        }
    }

    #[test]
    fn goodput_is_averaged_over_the_window() {
        // 125 000 bytes per 0.1 s is 10 Mbit/s.
        let s: Vec<Sample> = (0..20)
            .map(|i| sample(i as f64 * 0.1, i * 125_000))
            .collect();
        let g = goodput(&s, 0.5);
        assert_eq!(g.len(), 19);
        assert!(g.iter().all(|(_, v)| (v - 10.0).abs() < 1e-9), "{g:?}");
    }
}
