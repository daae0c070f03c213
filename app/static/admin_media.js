/* The displays' media page: uploads a file to the API as the request's body, with its progress (a
   video may take a while), then shows the page again; a refusal as the API words it for the page. */
(function () {
  "use strict";
  var form = document.getElementById("upload-media");
  if (!form) return;
  var T = JSON.parse(document.getElementById("media-strings").textContent);
  var bar = document.getElementById("upload-progress"), message = document.getElementById("upload-message");
  function say(text) { message.textContent = text || ""; message.hidden = !text; }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values && values[k] != null ? values[k] : m; });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = form.elements.file.files[0];
    if (!file) return say(T.choose);
    var video = /^video\//.test(file.type);
    var max = +(video ? form.dataset.maxVideo : form.dataset.maxImage);
    if (file.size > max) return say(fill(T.too_large, { max_mb: Math.round(max / 1048576) }));
    var query = "title=" + encodeURIComponent(form.elements.title.value.trim() || file.name.replace(/\.[^.]*$/, ""));
    if (!video && form.elements.seconds.value) query += "&seconds=" + encodeURIComponent(form.elements.seconds.value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/halls/" + form.dataset.hall + "/media?" + query);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
    xhr.onload = function () {
      bar.hidden = true; form.querySelector("button").disabled = false;
      if (xhr.status === 201) { location.reload(); return; }
      var error = {};
      try { error = JSON.parse(xhr.responseText).error || {}; } catch (x) { /* not JSON: a proxy's page */ }
      // the refusal in the page's language (error.text); a proxy's 413 page says nothing we can show
      say(xhr.status === 413 && !error.text ? fill(T.too_large, { max_mb: Math.round(max / 1048576) })
        : error.field === "seconds" ? T.seconds : error.text || T.other);
      form.dataset.code = error.code || "";
    };
    xhr.onerror = function () { bar.hidden = true; form.querySelector("button").disabled = false; say(T.other); };
    say(""); bar.value = 0; bar.hidden = false; form.querySelector("button").disabled = true;
    xhr.send(file);
  });
})();
