import { presentedCredential } from './authorization-header.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('presentedCredential', () => {
  it('reads a Bearer token, any case of the scheme', () => {
    expect(presentedCredential('Bearer abc.def')).toEqual({ scheme: 'bearer', secret: 'abc.def' });
    expect(presentedCredential('bearer  abc ')).toEqual({ scheme: 'bearer', secret: 'abc' });
  });

  it('reads the password of Basic auth, which may itself hold colons', () => {
    expect(presentedCredential(basic('admin', 's3cret'))).toEqual({ scheme: 'basic', secret: 's3cret' });
    expect(presentedCredential(basic('', 'a:b:c'))).toEqual({ scheme: 'basic', secret: 'a:b:c' });
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Bearer a b', 'Token abc', 'Basic !!!', basic('admin', ''), `Basic ${Buffer.from('nocolon').toString('base64')}`])(
    'finds no credential in %j',
    (header) => {
      expect(presentedCredential(header)).toBeUndefined();
    },
  );
});
