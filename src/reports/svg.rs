//! Charts drawn on the server as SVG: no script, no external library, readable in both
//! languages (labels come translated from the caller). Written by hand because the charts are
//! two shapes (grouped bars, one line) and the plotting crates bring font rendering and tens
//! of dependencies for them.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;

/// Escapes text for SVG (labels include team names people typed).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn frame(out: &mut String, title: &str, max: f64, unit: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}" class="chart"><title>{t}</title>"##,
        t = escape(title)
    );
    let plot_height = HEIGHT - TOP - BOTTOM;
    for step in 0..=4 {
        let value = max * f64::from(step) / 4.0;
        let y = TOP + plot_height - plot_height * f64::from(step) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{WIDTH}" y2="{y:.1}" stroke="#d0d7de" stroke-width="1"/><text x="{x:.1}" y="{ty:.1}" font-size="10" text-anchor="end" fill="#57606a">{value:.0}{unit}</text>"##,
            x = LEFT - 4.0,
            ty = y + 3.0,
        );
    }
}

/// Grouped bars, one group per label, one bar per series (values may be missing).
pub fn bars(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<Option<f64>>, &str)],
    max: f64,
    unit: &str,
) -> String {
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let group_width = (WIDTH - LEFT) / labels.len().max(1) as f64;
    let bar_width = (group_width * 0.8) / series.len().max(1) as f64;
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + group_width * i as f64 + group_width * 0.1;
        for (j, (name, values, colour)) in series.iter().enumerate() {
            let Some(value) = values.get(i).copied().flatten() else {
                continue;
            };
            let h = plot_height * (value / max).clamp(0.0, 1.0);
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}"><title>{label} {name}: {value:.1}{unit}</title></rect>"##,
                x = x0 + bar_width * j as f64,
                y = TOP + plot_height - h,
                w = bar_width.max(1.0) - 1.0,
                label = escape(label),
                name = escape(name),
            );
        }
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{y:.1}" font-size="10" text-anchor="middle" fill="#24292f">{label}</text>"##,
            x = x0 + group_width * 0.4,
            y = HEIGHT - BOTTOM + 14.0,
            label = escape(label),
        );
    }
    legend(
        &mut out,
        series.iter().map(|(name, _, colour)| (name.as_str(), *colour)),
    );
    out.push_str("</svg>");
    out
}

/// One line per series over the labels.
pub fn lines(title: &str, labels: &[String], series: &[(String, Vec<Option<f64>>, &str)], unit: &str) -> String {
    let max = series
        .iter()
        .flat_map(|(_, values, _)| values.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b))
        .max(1.0)
        * 1.1;
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let step = (WIDTH - LEFT) / labels.len().max(1) as f64;
    for (name, values, colour) in series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| {
                    format!(
                        "{:.1},{:.1}",
                        LEFT + step * (i as f64 + 0.5),
                        TOP + plot_height - plot_height * (v / max)
                    )
                })
            })
            .collect();
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"><title>{}</title></polyline>"##,
            points.join(" "),
            escape(name)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{y:.1}" font-size="10" text-anchor="middle" fill="#24292f">{label}</text>"##,
            x = LEFT + step * (i as f64 + 0.5),
            y = HEIGHT - BOTTOM + 14.0,
            label = escape(label),
        );
    }
    legend(
        &mut out,
        series.iter().map(|(name, _, colour)| (name.as_str(), *colour)),
    );
    out.push_str("</svg>");
    out
}

fn legend<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, &'a str)>) {
    for (i, (name, colour)) in entries.enumerate() {
        let x = LEFT + 160.0 * i as f64;
        let y = HEIGHT - 10.0;
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{ry:.1}" width="10" height="10" fill="{colour}"/><text x="{tx:.1}" y="{y:.1}" font-size="11" fill="#24292f">{name}</text>"##,
            ry = y - 9.0,
            tx = x + 14.0,
            name = escape(name),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let svg = bars(
            "達成率",
            &["<script>".to_string(), "2026-11".to_string()],
            &[("Response".into(), vec![Some(50.0), None], "#0969da")],
            100.0,
            "%",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        // 50% of a 184-pixel plot.
        assert!(svg.contains(r#"height="92.0""#), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "one bar and one legend swatch");
    }
}
