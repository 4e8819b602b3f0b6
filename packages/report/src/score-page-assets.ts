/** The score report's CSS and its small enhancement script (filter and sort; the page works without it). */

export const SCORE_STYLE = `
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { margin: 0; padding: 6px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
.card.passed { border-top: 4px solid var(--pass); } .card.rejected { border-top: 4px solid var(--fail); }
.card img, .card .noimg { display: block; width: 100%; height: 140px; object-fit: contain; background: #e9ecef; }
.card .noimg { display: flex; align-items: center; justify-content: center; text-align: center; font-size: .8em; color: var(--muted); padding: 6px; }
.card figcaption { font-size: .85em; color: var(--fg); margin-top: 4px; }
.card .path { color: var(--muted); overflow-wrap: anywhere; font-size: .9em; }
.card .score { font-size: 1.05em; }
.card .heads { display: flex; flex-wrap: wrap; gap: 0 10px; margin: 2px 0 0; }
.card .heads div { display: flex; gap: 4px; } .card .heads dt { color: var(--muted); } .card .heads dd { margin: 0; font-variant-numeric: tabular-nums; }
.prompt { overflow-wrap: anywhere; font-style: italic; }
.card .prompt { margin: 4px 0 0; display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden; }
`;

// Filters and re-orders the cards and table rows by their data attributes (path, rank, every head's score);
// nothing else depends on it. Sorting by a head puts the images it did not score last, in rank order.
export const SCORE_SCRIPT = `(() => {
  const controls = document.getElementById('controls');
  controls.hidden = false;
  const filter = document.getElementById('filter');
  const sort = document.getElementById('sort');
  const containers = [...document.querySelectorAll('.sheet'), document.querySelector('#scores-table tbody')].filter(Boolean);
  const key = (el) => el.dataset.path ?? el.querySelector('.path')?.textContent ?? '';
  const rank = (el) => Number(el.dataset.rank ?? el.firstElementChild?.textContent);
  const parsed = new Map();
  const scores = (el) => { if (!parsed.has(el)) parsed.set(el, JSON.parse(el.dataset.scores ?? '{}')); return parsed.get(el); };
  const byHead = (name, higher) => (a, b) => {
    const [x, y] = [scores(a)[name], scores(b)[name]];
    if (x === undefined || y === undefined) return (x === undefined) - (y === undefined) || rank(a) - rank(b);
    return (higher ? y - x : x - y) || rank(a) - rank(b);
  };
  function compare() {
    const by = sort.value;
    if (by.startsWith('head:')) return byHead(by.slice(5), sort.selectedOptions[0].dataset.higher !== 'false');
    return (a, b) => by === 'path' ? key(a).localeCompare(key(b)) : by === 'rank-desc' ? rank(b) - rank(a) : rank(a) - rank(b);
  }
  function apply() {
    const q = filter.value.trim().toLowerCase();
    for (const c of containers) {
      const items = [...c.children];
      for (const el of items) el.hidden = q !== '' && !key(el).toLowerCase().includes(q);
      items.sort(compare());
      for (const el of items) c.appendChild(el);
    }
  }
  filter.addEventListener('input', apply);
  sort.addEventListener('change', apply);
})();`;
