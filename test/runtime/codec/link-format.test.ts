// CoRE link-format: the LwM2M Register and Discover shapes, quoting, bare attributes, round trips and malformed input.
import { BadRequestError } from '../../../runtime/errors.js';
import { formatLinks, parseLinks, type Link } from '../../../runtime/codec/index.js';
import { randomBytes } from './fixtures.js';

describe('link-format', () => {
  it('formats Register and Discover payloads as LwM2M writes them', () => {
    expect(formatLinks([
      { target: '/', attributes: [['rt', 'oma.lwm2m'], ['ct', 110]] },
      { target: '/1/0', attributes: [] },
      { target: '/3/0', attributes: [['ver', '1.2']] },
    ])).toBe('</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>;ver=1.2');
    expect(formatLinks([
      { target: '/3/0', attributes: [['pmin', 10], ['pmax', 60]] },
      { target: '/3/0/1', attributes: [['dim', 2], ['obs', undefined]] },
    ])).toBe('</3/0>;pmin=10;pmax=60,</3/0/1>;dim=2;obs');
    expect(formatLinks([])).toBe('');
  });
  it('quotes and escapes strings that are not numbers', () => {
    expect(formatLinks([{ target: '/a', attributes: [['title', 'say "hi" \\ bye'], ['ct', '60 110'], ['gt', -1.5]] }]))
      .toBe('</a>;title="say \\"hi\\" \\\\ bye";ct="60 110";gt=-1.5');
  });
  it('parses the brief\'s examples', () => {
    expect(parseLinks('</3/0>;ver=1.2,</3/0/1>;pmin=10')).toEqual([
      { target: '/3/0', attributes: [['ver', '1.2']] },
      { target: '/3/0/1', attributes: [['pmin', 10]] },
    ]);
    expect(parseLinks('</>;rt="oma.lwm2m";ct=110')).toEqual([{ target: '/', attributes: [['rt', 'oma.lwm2m'], ['ct', 110]] }]);
  });
  it('parses quoted values with commas, semicolons and escapes, bare attributes, whitespace and line breaks', () => {
    expect(parseLinks(' </a>;title="x, y; \\"z\\"";obs ,\n\t</b> ; b=UQ ; ct = "0 110"\n')).toEqual([
      { target: '/a', attributes: [['title', 'x, y; "z"'], ['obs', undefined]] },
      { target: '/b', attributes: [['b', 'UQ'], ['ct', '0 110']] },
    ]);
    expect(parseLinks('')).toEqual([]);
    expect(parseLinks('  ')).toEqual([]);
  });
  it('round-trips what it formats', () => {
    const links: Link[] = [
      { target: '/', attributes: [['rt', 'oma.lwm2m'], ['ct', 110]] },
      { target: '/3/0/7', attributes: [['dim', 2], ['ver', '1.0'], ['title', 'a,b;"c"'], ['obs', undefined], ['lt', -5]] },
    ];
    expect(parseLinks(formatLinks(links))).toEqual(links);
  });
  it('refuses malformed input with BadRequestError', () => {
    for (const bad of ['/3/0', '<', '</3/0', '</3/0>;', '</3/0>;=1', '</3/0>;a=', '</3/0>;a="x', '</3/0>;a="x\\', '</3/0>,',
      '</3/0> </3/1>', '</3/0>x', '</a<b>', '</a>;a b']) {
      expect(() => parseLinks(bad)).toThrow(BadRequestError);
    }
    expect(() => formatLinks([{ target: '/a>', attributes: [] }])).toThrow(BadRequestError);
    expect(() => formatLinks([{ target: '/a', attributes: [['a b', 1]] }])).toThrow(BadRequestError);
    expect(() => formatLinks([{ target: '/a', attributes: [['n', NaN]] }])).toThrow(BadRequestError);
  });
  it('throws nothing but BadRequestError on random text', () => {
    const alphabet = '<>;,="\\ /a1.\n';
    for (let seed = 1; seed <= 3000; seed++) {
      const text = [...randomBytes(seed, seed % 30)].map((b) => alphabet[b % alphabet.length]).join('');
      try {
        parseLinks(text);
      } catch (e) {
        if (!(e instanceof BadRequestError)) throw e;
      }
    }
  });
});
