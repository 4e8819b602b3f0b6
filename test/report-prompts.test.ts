import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ScoreRecord } from '@clip-agiqa/core';
import { renderScoreReport } from '@clip-agiqa/report';

const hostile = 'a cat <script>alert(1)</script> & "dog" \'s <img src=x onerror=alert(2)>';
const long = `${'a very detailed castle on a hill at sunset, '.repeat(12)}😀 the end`;
const records: ScoreRecord[] = [
  { path: 'a.png', scores: { quality: 3, clipscore: 0.51 }, prompt: hostile },
  { path: 'b.png', scores: { quality: 2, clipscore: 0.93 }, prompt: long },
  { path: 'c.png', scores: { quality: 1 } },
];

/** The attribute value and text of the first element of class `cls` inside `html`. */
function promptOf(html: string, path: string): { title: string; text: string } | null {
  const card = new RegExp(`<figure [^>]*data-path="${path}"[^>]*>(.*?)</figure>`, 's').exec(html)?.[1] ?? '';
  const m = /<p class="prompt" title="([^"]*)">([^<]*)<\/p>/.exec(card);
  return m ? { title: m[1]!, text: m[2]! } : null;
}
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('score report with prompts and several heads', () => {
  const html = renderScoreReport({ records });

  it('shows each image\'s prompt escaped, never as markup', () => {
    assert.doesNotMatch(html, /<script>alert|<img src=x/);
    const a = promptOf(html, 'a.png')!;
    assert.equal(unescape(a.text), hostile);
    assert.equal(unescape(a.title), hostile);
    assert.equal(promptOf(html, 'c.png'), null, 'no prompt, no prompt line');
  });

  it('cuts a long prompt on the page and keeps its whole text on hover', () => {
    const b = promptOf(html, 'b.png')!;
    assert.equal(unescape(b.title), long);
    assert.equal([...b.text].length, 300);
    assert.ok(b.text.endsWith('…') && long.startsWith(b.text.slice(0, -1)));
    const table = /<table id="scores-table">.*<\/table>/s.exec(html)![0];
    assert.match(table, /<th scope="col">prompt<\/th>/);
    assert.ok(table.includes(`title="${long}"`), 'the table cell carries the whole prompt too');
  });

  it('shows every head\'s score on each card, and in the table', () => {
    assert.match(html, /data-path="a.png"[^>]*>.*<dt>quality<\/dt><dd>3\.000<\/dd>.*<dt>clipscore<\/dt><dd>0\.510<\/dd>/s);
    assert.match(html, /data-path="c.png"[^>]*>.*<dt>clipscore<\/dt><dd>–<\/dd>/s, 'a head that did not score an image shows a dash');
    assert.match(html, /<th scope="col" class="n">quality<\/th><th scope="col" class="n">clipscore<\/th>/);
    assert.match(html, /<figure class="chart" data-head="clipscore">/);
  });

  it('offers sorting by every head, the ranking head first and selected', () => {
    const select = /<select id="sort">(.*?)<\/select>/s.exec(html)![1]!;
    assert.match(select, /^<option value="rank">by quality \(rank\)<\/option><option value="head:clipscore" data-higher="true">by clipscore, best first<\/option>/);
    const order = [...html.matchAll(/<figure class="card[^"]*" data-rank="(\d)"[^>]*data-path="(\w)\.png"/g)].map((m) => m[2]);
    assert.deepEqual(order, ['a', 'b', 'c'], 'by default the cards follow the first head');
    assert.ok(html.includes('data-scores="{&quot;quality&quot;:2,&quot;clipscore&quot;:0.93}"'));
  });

  it('lists the heads of every record when none are given, not only the first\'s', () => {
    const page = renderScoreReport({ records: [records[2]!, records[0]!] });
    assert.match(page, /<figure class="chart" data-head="clipscore">/);
    assert.match(page, /<option value="head:clipscore"/);
  });

  it('keeps a one-head report without prompts as it was: no head list, no prompt column', () => {
    const page = renderScoreReport({ records: [{ path: 'x.png', scores: { quality: 2 } }] });
    assert.doesNotMatch(page, /class="heads"|class="prompt"|>prompt<\/th>|value="head:/);
  });
});
