/* The live strength meter: asks the page's own rate endpoint; no external asset, no inline code. */
(function () {
  "use strict";
  var form = document.getElementById("password-form");
  var input = document.getElementById("password");
  if (!form || !input) { return; }  /* a sign-in form has no new password to rate */
  var meter = document.getElementById("strength");
  var label = document.getElementById("strength-label");
  var list = document.getElementById("strength-problems");
  var csrf = form.querySelector("input[name=csrf]").value;
  var language = document.documentElement.lang;
  var timer = null;
  var latest = 0;
  var rated = null;  /* the value last sent: a pause that changed nothing asks nothing */

  function show(data) {
    meter.value = data.score;
    label.textContent = data.label;
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (data.problems || []).forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    form.setAttribute("data-rated", String(data.score));
  }

  function rate() {
    if (input.value === rated) { return; }
    rated = input.value;
    var mine = ++latest;
    fetch(form.getAttribute("data-rate-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ password: input.value, language: language })
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && mine === latest) { show(data); }
    }).catch(function () { /* the meter is a help, never a blocker */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    /* one rating per pause in typing (each costs the server a zxcvbn run, issue 13) */
    timer = window.setTimeout(rate, 400);
  });
}());
