// The moderation page's only script (served by the wall; the Content-Security-Policy allows no other):
// it refreshes the picture of the lobby screen every few seconds.
"use strict";
const screen = document.getElementById("screen");
if (screen) {
  setInterval(() => {
    screen.src = "/screen.png?t=" + Date.now();
  }, 3000);
}
