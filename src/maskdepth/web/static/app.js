// maskdepth's page: photo mode (upload or drop a pair) and webcam mode (live mask and depth).
"use strict";

const $ = (id) => document.getElementById(id);
const png = (b64) => `data:image/png;base64,${b64}`;

// ---- tabs
document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
  document.querySelectorAll(".mode").forEach((m) => { m.hidden = m.id !== tab.dataset.mode; });
}));

async function postPair(image, background, align) {
  const form = new FormData();
  form.append("image", image, "image");
  form.append("background", background, "background");
  const response = await fetch(`/predict?align=${align}`, { method: "POST", body: form });
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new Error(body.detail || `error ${response.status}`);
  return body;
}

// ---- photo mode
const files = { image: null, background: null };

function choose(field, file) {
  files[field] = file;
  $(`${field}-preview`).src = URL.createObjectURL(file);
  $("run").disabled = !(files.image && files.background);
}

for (const field of ["image", "background"]) {
  $(field).addEventListener("change", (e) => e.target.files[0] && choose(field, e.target.files[0]));
  const zone = $(`drop-${field}`);
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) choose(field, e.dataTransfer.files[0]);
  });
}

$("run").addEventListener("click", async () => {
  $("run").disabled = true;
  $("status").textContent = "predicting…";
  $("warning").hidden = true;
  const start = performance.now();
  try {
    const result = await postPair(files.image, files.background, $("align").checked);
    $("overlay").src = png(result.overlay_png);
    $("depth-color").src = png(result.depth_color_png);
    $("download-mask").href = png(result.mask_png);
    $("download-depth").href = png(result.depth_png);
    $("depth-range").textContent =
      `${result.depth_range_m[0].toFixed(2)}–${result.depth_range_m[1].toFixed(2)} m`;
    if (result.warning) { $("warning").textContent = result.warning; $("warning").hidden = false; }
    $("results").hidden = false;
    $("status").textContent = `done in ${Math.round(performance.now() - start)} ms ` +
      `(${result.width}x${result.height}, ${(100 * result.foreground).toFixed(1)} % foreground)`;
    $("status").dataset.done = "1";
  } catch (error) {
    $("status").textContent = error.message;
    $("status").dataset.error = "1";
  } finally {
    $("run").disabled = false;
  }
});

// ---- webcam mode
const video = $("video");
const canvas = document.createElement("canvas");
let backgroundBlob = null;
let live = false;

function frameBlob(type = "image/jpeg") {
  const [width, height] = $("size").value.split("x").map(Number);
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(video, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, type, 0.9));
}

$("camera-start").addEventListener("click", async () => {
  try {
    const [width, height] = $("size").value.split("x").map(Number);
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width, height } });
    await video.play();
    $("capture").disabled = $("plate").disabled = false;
    $("cam-status").textContent = "Camera on. Capture the empty scene.";
  } catch (error) {
    $("cam-status").textContent = `No camera: ${error.message}`;
  }
});

function useBackground(blob) {
  backgroundBlob = blob;
  $("cam-background").src = URL.createObjectURL(blob);
  $("live").disabled = false;
  $("cam-status").textContent = "Empty scene taken. Step in and start live.";
}

$("capture").addEventListener("click", async () => useBackground(await frameBlob("image/png")));

$("plate").addEventListener("click", async () => {
  $("cam-status").textContent = "Gathering frames for 3 s: people may move through.";
  const form = new FormData();
  for (let i = 0; i < 12; i++) {
    form.append("frames", await frameBlob(), `frame${i}.jpg`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const response = await fetch("/clean-plate", { method: "POST", body: form });
  if (!response.ok) { $("cam-status").textContent = (await response.json()).detail; return; }
  useBackground(await response.blob());
});

let run = 0;  // the current live run: a loop whose number is older stops sending

$("live").addEventListener("click", () => {
  live = !live;
  $("live").textContent = live ? "Stop" : "Start live";
  if (live) loop(++run);
});

// One WebSocket session per live run: the background goes once (the server aligns it once and
// predicts the empty scene's depth once), then each frame after the previous answer.
function openSession(background) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/live`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(background);
    socket.onerror = () => reject(new Error("the live connection failed"));
    socket.onmessage = (event) => {
      const reply = JSON.parse(event.data);
      if (reply.error) reject(new Error(reply.error)); else resolve(socket);
    };
  });
}

// A frame's answer: a 4-byte big-endian length, that much JSON, the overlay JPEG, the depth JPEG
// (web/live.py).
function parseAnswer(buffer) {
  const length = new DataView(buffer).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const start = 4 + length;
  const overlay = new Blob([new Uint8Array(buffer, start, header.overlay_bytes)], { type: "image/jpeg" });
  const depth = new Blob([new Uint8Array(buffer, start + header.overlay_bytes, header.depth_bytes)],
                         { type: "image/jpeg" });
  return { header, overlay, depth };
}

function show(element, blob) {
  const old = element.src;
  element.src = URL.createObjectURL(blob);
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

const IN_FLIGHT = 2;  // frames sent before their answers come: capture overlaps the server's work

async function loop(mine) {
  const going = () => live && mine === run;
  const times = [];
  const sent = [];
  let count = 0;
  let socket = null;
  try {
    socket = await openSession(backgroundBlob);
    await new Promise((resolve, reject) => {
      const send = async () => {
        const blob = await frameBlob();
        sent.push(performance.now());
        socket.send(blob);
      };
      socket.onclose = () => reject(new Error("the live connection closed"));
      socket.onmessage = (event) => {
        if (typeof event.data === "string") {  // this frame was refused; the session goes on
          sent.shift();
          $("cam-status").textContent = JSON.parse(event.data).error;
          if (going()) send().catch(reject);
          else if (sent.length === 0) resolve();
          return;
        }
        const { header, overlay, depth } = parseAnswer(event.data);
        show($("cam-overlay"), overlay);
        show($("cam-depth"), depth);
        const now = performance.now();
        const start = sent.shift();
        times.push(now);
        while (times.length > 1 && now - times[0] > 3000) times.shift();
        count += 1;
        $("frames").textContent = count;
        $("latency").textContent = Math.round(now - start);
        $("model-ms").textContent = Math.round(header.model_ms);
        $("live-size").textContent = header.max_side;  // lowered when the server cannot keep up
        if (header.note) $("cam-status").textContent = header.note;
        if (times.length > 1) {
          $("fps").textContent = ((times.length - 1) / ((now - times[0]) / 1000)).toFixed(1);
        }
        if (going()) send().catch(reject);
        else if (sent.length === 0) resolve();
      };
      for (let i = 0; i < IN_FLIGHT; i++) send().catch(reject);
    });
  } catch (error) {
    $("cam-status").textContent = error.message;
    if (mine === run) {
      live = false;
      $("live").textContent = "Start live";
    }
  } finally {
    if (socket) { socket.onclose = null; socket.close(); }
  }
}
