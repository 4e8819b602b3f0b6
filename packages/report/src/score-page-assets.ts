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
`;

// Filters and re-orders the cards and table rows by their data attributes; nothing else depends on it.
export const SCORE_SCRIPT = `(() => {
  const controls = document.getElementById('controls');
  controls.hidden = false;
  const filter = document.getElementById('filter');
  const sort = document.getElementById('sort');
  const containers = [...document.querySelectorAll('.sheet'), document.querySelector('#scores-table tbody')].filter(Boolean);
  const key = (el) => el.dataset.path ?? el.querySelector('.path')?.textContent ?? '';
  const rank = (el) => Number(el.dataset.rank ?? el.firstElementChild?.textContent);
  function apply() {
    const q = filter.value.trim().toLowerCase();
    for (const c of containers) {
      const items = [...c.children];
      for (const el of items) el.hidden = q !== '' && !key(el).toLowerCase().includes(q);
      const by = sort.value;
      items.sort((a, b) => by === 'path' ? key(a).localeCompare(key(b)) : by === 'rank-desc' ? rank(b) - rank(a) : rank(a) - rank(b));
      for (const el of items) c.appendChild(el);
    }
  }
  filter.addEventListener('input', apply);
  sort.addEventListener('change', apply);
})();`;
