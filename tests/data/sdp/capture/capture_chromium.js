// Captures Chromium offers for the SDP tests. Run inside a loopback-only
// network namespace (capture.sh does both); needs `npm i playwright-core`.
// Usage: node capture_chromium.js PAGE_URL OUT_DIR
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const [pageUrl, outDir] = process.argv.slice(2);

// Runs in the page: builds an offer, waits for ICE gathering, returns the SDP.
async function makeOffer(kind) {
  const pc = new RTCPeerConnection();
  if (kind === 'av_dc') {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    pc.createDataChannel('chat');
  } else {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    pc.addTransceiver(stream.getVideoTracks()[0], {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [
        { rid: 'q', scaleResolutionDownBy: 4.0 },
        { rid: 'h', scaleResolutionDownBy: 2.0 },
        { rid: 'f' },
      ],
    });
  }
  const gathered = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') resolve();
    };
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered;
  const sdp = pc.localDescription.sdp;
  pc.close();
  return sdp;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/lib/chromium/chromium',
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic',
      '--disable-dev-shm-usage', '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  try {
    const version = browser.version().split('.')[0];
    const page = await browser.newPage();
    await page.goto(pageUrl);
    for (const kind of ['av_dc', 'simulcast']) {
      const sdp = await page.evaluate(makeOffer, kind);
      const file = path.join(outDir, `chromium${version}_captured_offer_${kind}.sdp`);
      fs.writeFileSync(file, sdp);
      console.log(`wrote ${file}`);
    }
  } finally {
    await browser.close();
  }
})().catch((err) => { console.error(err); process.exit(1); });
