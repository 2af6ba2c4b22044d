// Behaviour of the pages that would otherwise be inline script (onsubmit=,
// htmx's hx-on, plotly's inline <script>): the Content-Security-Policy runs
// scripts from this origin only and no eval (docs/security.md, "Web
// security"). Each piece is keyed on a data- attribute and also works on
// content that htmx swaps in.
(function () {
  "use strict";

  // <form data-confirm="Delete this case?">: ask before it is submitted.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // <button data-copy>: copy the text of the element just before it (the
  // webhook URLs on the telephony settings); where the clipboard is out of
  // reach (plain HTTP off localhost), select the text for Ctrl+C.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = button.previousElementSibling;
    var select = function () {
      window.getSelection().selectAllChildren(source);
      button.textContent = "Selected: press Ctrl+C";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(function () { button.textContent = "Copied"; }, select);
    } else {
      select();
    }
  });

  // <textarea data-sms-counter="sms_count" data-sms-max="1600">: the live
  // count of characters and message parts, as telephony.services.sms_parts
  // counts them: GSM-7 (160 a part, 153 when split; ^{}\[~]|€ and form
  // feed take two) or, with any other character, UCS-2 (70, 67 when split).
  var GSM7 = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-.\/0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\\[~\]|€\f]*$/;
  var GSM7_EXTENDED = /[\^{}\\\[~\]|€\f]/g;
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("[data-sms-counter]")) {
      return;
    }
    var text = field.value;
    var unicode = !GSM7.test(text);
    var units = unicode ? text.length : text.length + (text.match(GSM7_EXTENDED) || []).length;
    var parts = !text ? 0 : units <= (unicode ? 70 : 160) ? 1 : Math.ceil(units / (unicode ? 67 : 153));
    document.getElementById(field.getAttribute("data-sms-counter")).textContent =
      Array.from(text).length + " / " + field.getAttribute("data-sms-max") + " characters · " + parts +
      (parts === 1 ? " message" : " messages") + (unicode ? " (Unicode)" : "");
  });

  // <div data-plotly="ID"> and <script type="application/json" id="ID">
  // {"data", "layout", "config"}: a plotly chart (web.charts.plotly_html).
  function drawCharts(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var charts = Array.from(scope.querySelectorAll("[data-plotly]"));
    if (scope.matches && scope.matches("[data-plotly]")) {
      charts.push(scope);
    }
    charts.forEach(function (element) {
      if (element.getAttribute("data-drawn") || !window.Plotly) {
        return;
      }
      var figure = JSON.parse(document.getElementById(element.getAttribute("data-plotly")).textContent);
      element.setAttribute("data-drawn", "1");
      window.Plotly.newPlot(element, figure.data, figure.layout, figure.config);
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(drawCharts); // the page once it is loaded, then every swap
  } else {
    document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  }
})();
