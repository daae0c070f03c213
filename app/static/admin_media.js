/* The displays' media page: uploads a file to the API as the request's body, with its progress (a
   video may take a while), then shows the page again; a refusal as the API words it for the page. */
import { $, showText } from "./lib/dom.js";
import { fill, strings } from "./lib/i18n.js";

const form = $("upload-media");
if (form) upload(form);

function upload(form) {
  const T = strings("media-strings");
  const bar = $("upload-progress"), message = $("upload-message");
  const say = (text) => showText(message, text);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return say(T.choose);
    const video = /^video\//.test(file.type);
    const max = +(video ? form.dataset.maxVideo : form.dataset.maxImage);
    if (file.size > max) return say(fill(T.too_large, { max_mb: Math.round(max / 1048576) }));
    let query = "title=" + encodeURIComponent(form.elements.title.value.trim() || file.name.replace(/\.[^.]*$/, ""));
    if (!video && form.elements.seconds.value) query += "&seconds=" + encodeURIComponent(form.elements.seconds.value);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/halls/" + form.dataset.hall + "/media?" + query);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
    xhr.onload = () => {
      bar.hidden = true; form.querySelector("button").disabled = false;
      if (xhr.status === 201) { location.reload(); return; }
      let error = {};
      try { error = JSON.parse(xhr.responseText).error || {}; } catch (x) { /* not JSON: a proxy's page */ }
      // the refusal in the page's language (error.text); a proxy's 413 page says nothing we can show
      say(xhr.status === 413 && !error.text ? fill(T.too_large, { max_mb: Math.round(max / 1048576) })
        : error.field === "seconds" ? T.seconds : error.text || T.other);
      form.dataset.code = error.code || "";
    };
    xhr.onerror = () => { bar.hidden = true; form.querySelector("button").disabled = false; say(T.other); };
    say(""); bar.value = 0; bar.hidden = false; form.querySelector("button").disabled = true;
    xhr.send(file);
  });
}
