/**
 * The page's stylesheet, in the module graph so `deno compile` embeds it.
 * Colours follow the states: green up, red down, amber paused, grey
 * disabled and unknown.
 * @module
 */

/** The stylesheet. */
export const STYLE_CSS = `:root { --up: #1a7f37; --down: #cf222e; --paused: #bf8700; --off: #6e7781;
  --bg: #f6f8fa; --card: #fff; --line: #d0d7de; font-family: system-ui, sans-serif; font-size: 14px; }
body { margin: 0; background: var(--bg); color: #1f2328; }
body > header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #24292f; color: #fff; }
body > header h1 { font-size: 1.1em; margin: 0; }
#tabs { display: flex; gap: .25em; flex-wrap: wrap; }
.tab { background: #32383f; color: #fff; border: 0; padding: .3em .8em; border-radius: 4px; cursor: pointer; }
.tab.active { background: #fff; color: #24292f; }
#stream { margin-left: auto; font-size: .85em; opacity: .8; }
#stream[data-stream="live"]::before { content: "\\25cf "; color: #3fb950; }
main { padding: 1em; }
.dot { display: inline-block; width: .6em; height: .6em; border-radius: 50%; margin-right: .4em; }
.dot.on { background: #3fb950; } .dot.off { background: var(--down); }
.conn.off { color: var(--down); }
.daemon.stale .cards, .daemon.stale .side { opacity: .55; }
.daemon { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16em, 1fr); gap: 1em; }
.daemon > .conn { grid-column: 1 / -1; margin: 0; }
.cards { display: flex; flex-direction: column; gap: 1em; }
.card, .vpp, .log, .fleet-row, #details, #confirm { background: var(--card); border: 1px solid var(--line);
  border-radius: 6px; padding: .75em 1em; }
.card > header, #details > header { display: flex; gap: .75em; align-items: baseline; }
.card h2, .vpp h2, .log h2, #details h2, #confirm h2 { font-size: 1.05em; margin: 0; }
.card[data-state="down"] { border-left: 4px solid var(--down); }
.card[data-state="up"] { border-left: 4px solid var(--up); }
.vip, .fp { font-family: ui-monospace, monospace; }
.fp { font-size: .85em; color: #57606a; }
.desc { color: #57606a; margin: .25em 0; }
.pool h3 { font-size: .95em; margin: .75em 0 .25em; }
.serving { color: var(--up); font-weight: normal; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2em .5em; border-bottom: 1px solid #eaeef2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { padding: .05em .5em; border-radius: 1em; color: #fff; background: var(--off); font-size: .85em; }
.s-up { background: var(--up); } .s-down { background: var(--down); } .s-paused { background: var(--paused); }
.beat.ok { color: var(--up); } .beat.bad { color: var(--down); } .beat.live { color: #e5534b; }
.beat.none { color: var(--off); }
button.link { background: none; border: 0; padding: 0; color: #0969da; cursor: pointer; font: inherit; }
button.act { font-size: .8em; margin-right: .25em; }
.side { display: flex; flex-direction: column; gap: 1em; }
.log ol { list-style: none; padding: 0; margin: .5em 0 0; max-height: 30em; overflow: auto;
  font-family: ui-monospace, monospace; font-size: .8em; }
.log li { padding: .1em 0; border-bottom: 1px solid #eaeef2; }
.l-warn, .l-error, .warn { color: var(--down); }
.fleet { display: flex; flex-direction: column; gap: 1em; }
tr.diff { background: #ffebe9; }
tr.diff th::after { content: " \\2260"; color: var(--down); }
.fleet-row.differs { border-left: 4px solid var(--down); }
#details, #confirm { position: fixed; right: 1em; bottom: 1em; width: min(40em, 90vw); max-height: 60vh;
  overflow: auto; box-shadow: 0 4px 16px rgba(0,0,0,.2); }
#confirm { bottom: auto; top: 4em; }
.probes tr.bad { color: var(--down); }
`;
