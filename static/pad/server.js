// All the pad tells the server (ui.pad reads these): a pinned code, a kept drawing, a runtime that failed.
// Each is one message; hovering, sliding and drawing send nothing.

export class ServerLink {
  // The component's setters, renewed at every render.
  bind(setStateValue, setTriggerValue) {
    this.setState = setStateValue;
    this.trigger = setTriggerValue;
  }

  // The code pinned and its spot on the map: the link, the nearest real digit and the ends follow from it.
  pin(code, [x, y]) { this.trigger("pin", { z: code, x, y }); }

  // A prepared drawing: its 784 grey levels, rounded to 3 decimals.
  keep(digit) { this.trigger("keep", { pixels: Array.from(digit, (v) => Math.round(v * 1000) / 1000) }); }

  failed(message) { this.setState("failed", message); }
}
