// The built-in stylesheet, inlined in a <style> element whose SHA-256 goes in the CSP, so the policy
// needs neither 'unsafe-inline' nor a route. A constant: nothing from a request is ever part of it.
export const STYLESHEET = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--text:#1b1f24;--muted:#5b6470;--line:#e2e5ea;--accent:#2556d9;--on-accent:#fff;--accent-bg:#eaf0ff;--ok:#1a7f37;--ok-bg:#e8f5ec;--warn:#b42318;--warn-bg:#fdeceb;--radius:12px}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--card:#171a21;--text:#e7e9ee;--muted:#9aa3af;--line:#2a2f3a;--accent:#7aa2ff;--on-accent:#0f1115;--accent-bg:#1d2740;--ok:#56c27a;--ok-bg:#15281d;--warn:#ff8a80;--warn-bg:#3a1c1c}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent)}
.wrap{max-width:760px;margin:0 auto;padding:0 16px}
.site{background:var(--card);border-bottom:1px solid var(--line)}
.site .wrap{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;min-height:56px;padding-top:8px;padding-bottom:8px}
.brand{font-weight:650;color:var(--text);text-decoration:none;margin-right:auto}
.who{color:var(--muted);font-size:14px}
.site nav{display:flex;flex-wrap:wrap;align-items:center;gap:4px 16px}
.site nav a{color:var(--muted);text-decoration:none}
.site nav a:hover{color:var(--text)}
.site nav form{margin:0}
main.wrap{padding-top:28px;padding-bottom:48px}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 4px}
h2{font-size:1.05rem;margin:32px 0 12px}
.lede{color:var(--muted);margin:0 0 20px}
.tabs{display:flex;gap:4px;border-bottom:1px solid var(--line);margin-bottom:20px}
.tabs a{padding:8px 12px;color:var(--muted);text-decoration:none;border-bottom:2px solid transparent;margin-bottom:-1px}
.tabs a[aria-current=page]{color:var(--text);border-bottom-color:var(--accent);font-weight:600}
.notice{background:var(--ok-bg);color:var(--ok);border:1px solid currentColor;border-radius:var(--radius);padding:12px 16px;margin:0 0 20px}
.notice p{margin:0;color:var(--text)}
.cards{list-style:none;margin:0;padding:0;display:grid;gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:16px;display:flex;gap:14px;align-items:flex-start}
.card[data-current]{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent) inset}
.icon{flex:none;width:40px;height:40px;border-radius:10px;background:var(--accent-bg);color:var(--accent);display:grid;place-items:center}
.icon svg{width:22px;height:22px}
.icon.ok{background:var(--ok-bg);color:var(--ok)}
.icon.warn{background:var(--warn-bg);color:var(--warn)}
.body{flex:1;min-width:0}
.title{font-size:1rem;font-weight:600;margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;font-size:.75rem;font-weight:600;line-height:1;padding:4px 8px;border-radius:999px;background:var(--accent-bg);color:var(--accent);vertical-align:2px;margin-left:6px}
.meta{color:var(--muted);font-size:.9rem;margin:2px 0 0;overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;font-size:.9rem;margin:10px 0 0}
.facts dt{color:var(--muted)}
.facts dd{margin:0;overflow-wrap:anywhere}
.ua{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem}
.active-now{color:var(--ok);font-weight:600}
.card form{margin:0;flex:none}
button{font:inherit;font-size:.9rem;font-weight:600;cursor:pointer;border-radius:8px;padding:8px 14px;border:1px solid var(--line);background:var(--card);color:var(--text)}
button:hover{border-color:var(--muted)}
button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button.danger{color:var(--warn)}
button.danger:hover{border-color:var(--warn)}
button.link{border:0;background:none;padding:0;color:var(--muted);font-weight:400;font-size:1rem}
button.link:hover{color:var(--text)}
.section-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:8px 16px;margin:32px 0 12px}
.section-head h2{margin:0}
.section-head form{margin:0}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:var(--radius);padding:24px 16px;text-align:center;color:var(--muted)}
.empty strong{display:block;color:var(--text);margin-bottom:2px}
.attribution{color:var(--muted);font-size:.8rem;margin-top:24px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:20px 16px;margin:0 0 20px}
.panel h2{margin-top:0}
.stack{display:grid;gap:6px;max-width:420px}
.stack label{font-weight:600;font-size:.9rem;margin-top:8px}
input{font:inherit;padding:9px 12px;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--text);width:100%}
input:focus-visible{outline:3px solid var(--accent);outline-offset:1px}
input[type=checkbox]{width:auto;margin:0 8px 0 0}
.stack label.check{display:flex;align-items:center;font-weight:400}
.stack button{margin-top:12px;justify-self:start}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
.notice.error{background:var(--warn-bg);color:var(--warn)}
.hint{color:var(--muted);font-size:.85rem;margin:0}
.rules{list-style:none;padding:0;margin:0 0 12px;display:grid;gap:8px}
.rules li{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:12px}
.rules form.inline{display:flex;gap:8px;align-items:center}
.rules form.inline input{width:auto;min-width:0;flex:1 1 10ch}
.rules form{margin:0}
.filters{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 16px}
.filters a{padding:5px 12px;border:1px solid var(--line);border-radius:999px;color:var(--muted);text-decoration:none;font-size:.9rem;background:var(--card)}
.filters a:hover{color:var(--text);border-color:var(--muted)}
.filters a[aria-current=page]{background:var(--accent-bg);border-color:var(--accent);color:var(--accent);font-weight:600}
.timeline{list-style:none;margin:10px 0 0;padding:0 0 0 14px;border-left:2px solid var(--line);display:grid;gap:4px;font-size:.9rem}
.timeline li{position:relative}
.timeline li::before{content:"";position:absolute;left:-18px;top:.55em;width:8px;height:8px;border-radius:50%;background:var(--muted)}
.timeline li:first-child::before{background:var(--ok)}
.timeline li[data-event-type=session_locked]::before{background:var(--warn)}
.timeline time{color:var(--muted);font-variant-numeric:tabular-nums;margin-right:4px}
.span{margin:8px 0 0;font-size:.9rem}
.pager{display:flex;flex-wrap:wrap;justify-content:space-between;gap:8px;margin:20px 0 0}
.pager a[rel=next]{margin-left:auto}
.card.waiting{border-color:var(--warn)}
.badge.wait{background:var(--warn-bg);color:var(--warn)}
.answers{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}
dialog.confirm{max-width:420px;width:calc(100% - 32px);border:1px solid var(--line);border-radius:var(--radius);background:var(--card);color:var(--text);padding:20px}
dialog.confirm::backdrop{background:rgba(0,0,0,.45)}
dialog.confirm h2{margin:0 0 8px;font-size:1.15rem}
dialog.confirm p{margin:0;color:var(--muted)}
.hint + .cards{margin-top:12px}
.stack + .stack{margin-top:24px}
.answers form{margin:0}
.rename{margin-top:10px;font-size:.9rem}
.rename summary{cursor:pointer;color:var(--accent);width:max-content}
.rename summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.card .rename form{margin:8px 0 0;display:grid;gap:6px;max-width:420px}
.rename label{font-weight:600}
.rename .row{display:flex;gap:8px}
.rename .row input{flex:1;min-width:0}
.panel pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:12px;font-size:.85rem}
.panel iframe{width:100%;min-height:20rem;border:1px solid var(--line);background:#fff}
.visually-hidden{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
@media (max-width:520px){.card{flex-wrap:wrap}.card>form{width:100%;padding-left:54px}.card>form button{width:100%}.answers{width:100%}.answers form{flex:1}.answers button{width:100%}.facts{grid-template-columns:1fr}.facts dd{margin-bottom:6px}}
`.trim();
