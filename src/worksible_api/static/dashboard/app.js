// The dashboard's enhancements: copy buttons and the request log's charts. Every page works
// without them; they load from the service itself (no CDN), like htmx and uPlot.
"use strict";

function copyFrom(button) {
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => { input.select(); });
  } else {
    input.select();
    document.execCommand("copy");
    done();
  }
}

const CLASS_COLOURS = { "2xx": "#2e7d32", "3xx": "#1565c0", "4xx": "#e65100", "5xx": "#b71c1c" };
const MEASURED = { show: true, size: 5 };

function chart(element, title, series, columns) {
  element.replaceChildren();
  const width = Math.max(element.clientWidth, 320);
  return new uPlot(
    {
      title,
      width,
      height: 220,
      // The dashboard's times are UTC, the charts' too, whatever the browser's time zone.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
      series: [{}, ...series],
      axes: [{}, { size: 60 }],
    },
    columns,
    element,
  );
}

function drawCharts() {
  const source = document.getElementById("traffic-data");
  const requests = document.getElementById("requests-chart");
  const latency = document.getElementById("latency-chart");
  if (!source || !requests || !latency || typeof uPlot === "undefined") return;
  const data = JSON.parse(source.textContent);
  const classes = Object.keys(CLASS_COLOURS);
  chart(
    requests,
    "Requests",
    classes.map((name) => ({ label: name, stroke: CLASS_COLOURS[name], width: 2 })),
    [data.t, ...classes.map((name) => data[name])],
  );
  chart(
    latency,
    "Latency (ms)",
    // Points as well as lines: an interval with traffic between quiet ones has no line.
    [
      { label: "p50", stroke: "#1565c0", width: 2, spanGaps: true, points: MEASURED },
      { label: "p95", stroke: "#6a1b9a", width: 2, spanGaps: true, points: MEASURED },
    ],
    [data.t, data.p50, data.p95],
  );
}

// A page that answers a form (a new key shown once, a failed sign-in) takes the address of the
// page it shows, so reloading it or going back loads that page instead of posting the form again.
if (document.body.dataset.address) {
  history.replaceState(null, "", document.body.dataset.address);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (button) copyFrom(button);
});
document.addEventListener("DOMContentLoaded", drawCharts);
document.addEventListener("htmx:afterSettle", drawCharts);
