// The live progress bar of a training run. The page moves it on at the run's own pace between the server's
// reports (progress.js), and asks the server only for what it alone knows: whether the run has ended, when it
// should have.

import { progressAt } from "./progress.js";

const TICK_MS = 1000;  // a step count that moves once a second reads as live; each move costs the page a small redraw

class LiveBar {
  constructor(root) {
    this.root = root;
    root.querySelectorAll(".livebar").forEach((old) => old.remove());
    const box = document.createElement("div");
    box.className = "livebar";
    this.text = Object.assign(document.createElement("div"), { className: "text" });
    const track = Object.assign(document.createElement("div"), { className: "track" });
    this.fill = Object.assign(document.createElement("div"), { className: "fill" });
    track.append(this.fill);
    box.append(this.text, track);
    root.append(box);
    this.shown = this.step = 0;
    this.asks = [];  // why the page asked the server, one entry an ask: "start" (no pace yet) or "end"
  }

  // data: {text, fraction, askIn, askEvery} and, once the run has a pace, progressAt's fields.
  update(data, trigger) {
    this.stop();
    if (data.run !== this.run) this.shown = this.step = 0;  // a new run starts from its own reports
    this.run = data.run;
    this.data = data;
    this.since = performance.now();
    this.draw();
    if (data.template) this.ticker = setInterval(() => this.draw(), TICK_MS);
    // Asked again and again until the answer changes: an answer with the same data draws nothing new here.
    const ask = (s) => {
      this.asking = setTimeout(() => {
        this.asks.push(data.template ? "end" : "start");
        trigger("due", Date.now());
        ask(data.askEvery);
      }, 1000 * s);
    };
    if (data.askIn != null) ask(data.askIn);
  }

  draw() {
    const d = this.data;
    if (!d.template) {
      this.show(d.fraction, d.text);
      return;
    }
    const now = progressAt(d, (performance.now() - this.since) / 1000, this.step);
    this.step = now.step;
    this.show(now.fraction, now.text);
  }

  show(fraction, text) {
    this.shown = Math.max(this.shown, fraction);
    this.fill.style.width = `${(100 * this.shown).toFixed(2)}%`;
    this.text.textContent = text;
  }

  stop() {
    clearInterval(this.ticker);
    clearTimeout(this.asking);
  }
}

// The component's entry (ui.livebar imports this module): one bar per element, kept across reruns.
export function mount(component) {
  const { data, parentElement, setTriggerValue } = component;
  let bar = parentElement.__livebar;
  if (!bar || !bar.root.isConnected) {
    bar = new LiveBar(parentElement);
    parentElement.__livebar = bar;
  }
  clearTimeout(bar.goodbye);
  bar.update(data, setTriggerValue);
  globalThis.aelibLiveBar = bar;  // for the tests and the bench: what the bar shows
  // Unmounting may be a re-render in disguise: stop only if no new call comes right after.
  return () => { bar.goodbye = setTimeout(() => bar.stop(), 0); };
}
