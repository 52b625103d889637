// Where a training run stands `s` seconds after the server's last report, at the pace it reported: the live bar's
// arithmetic. Its line is ui.training's progress text with {epoch}, {step} and {left} filled in here, and
// tests/js checks it against that text.

// data: {template, step, total, perEpoch, epochs, stepsPerS, eta} (ui.training.live_bar_data); `floor`: the step
// shown before, which the bar never goes back from. Returns {step, fraction, text}.
export function progressAt(data, s, floor = 0) {
  // One step short of the end at most: only the server says a run is finished.
  // A report that lags the estimate (the test set's pass at an epoch's end) does not pull it back.
  const step = Math.max(floor, data.step, Math.min(data.step + data.stepsPerS * s, data.total - 1));
  const whole = Math.round(step);  // the epoch of the step shown: 468.9999 is step 469, the first of epoch 2
  const epoch = Math.min(Math.floor(whole / data.perEpoch) + 1, data.epochs);
  const left = Math.max(data.eta - s, 0);
  const text = data.template.replace("{epoch}", epoch).replace("{step}", whole.toLocaleString("en-US"))
    .replace("{left}", left.toFixed(0));
  return { step, fraction: step / data.total, text };
}
