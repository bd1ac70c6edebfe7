/* Board-voice admin page: record a clip with the PC's microphone (MediaRecorder), listen to it,
   and save it through the same form as a chosen audio file (the recording is put in the form's
   file field). Without a microphone or outside a secure context (the page opened from another
   computer over plain http) only the file field is offered. Texts come from data attributes. */
(function () {
  "use strict";
  var help = document.getElementById("voice-recorder");
  if (!help) return;
  // The example call, as the board would play it (office recordings first, then shipped clips).
  var example = document.getElementById("voice-example");
  var tryCall = example && example.querySelector("[data-try-call]");
  if (tryCall && window.PSTVoice) {
    tryCall.addEventListener("click", function () {
      tryCall.disabled = true;
      window.PSTVoice.announce(
        { queue_number: example.dataset.number, desk: example.dataset.desk },
        { done: function () { tryCall.disabled = false; } }
      );
    });
  }
  var canRecord = window.isSecureContext && navigator.mediaDevices &&
    navigator.mediaDevices.getUserMedia && window.MediaRecorder && window.DataTransfer;
  if (!canRecord) {
    var note = document.createElement("p");
    note.className = "warn"; note.setAttribute("data-no-mic", "");
    note.textContent = help.dataset.msgNoMic;
    help.appendChild(note);
    return;
  }
  var extension = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };

  document.querySelectorAll("form.voice-save").forEach(function (form) {
    var record = form.querySelector("[data-record]"), stop = form.querySelector("[data-stop]");
    var preview = form.querySelector(".voice-preview"), file = form.querySelector("input[type=file]");
    var status = form.querySelector(".voice-status");
    var key = form.closest("[data-clip]").dataset.clip;
    var recorder = null;
    record.hidden = false;

    record.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.addEventListener("dataavailable", function (e) { if (e.data.size) chunks.push(e.data); });
        recorder.addEventListener("stop", function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          var type = (recorder.mimeType || "audio/webm").split(";")[0];
          var blob = new Blob(chunks, { type: type });
          var named = new File([blob], key + "." + (extension[type] || "webm"), { type: type });
          var transfer = new DataTransfer();
          transfer.items.add(named);
          file.files = transfer.files;
          preview.src = URL.createObjectURL(blob);
          preview.hidden = false;
          record.hidden = false; stop.hidden = true;
          status.textContent = help.dataset.msgRecorded;
          form.setAttribute("data-recorded", "");
        });
        recorder.start();
        record.hidden = true; stop.hidden = false;
        status.textContent = help.dataset.msgRecording;
        stop.focus();
      }).catch(function () { status.textContent = help.dataset.msgDenied; });
    });
    stop.addEventListener("click", function () {
      if (recorder && recorder.state !== "inactive") recorder.stop();
    });
  });
})();
