/**
 * The dsn web console: sign in with an access key, then vaults, the unit health grid, an object
 * browser with each object's slice map, and jobs. Routes live in the URL's hash, so the function
 * serving /console only ever serves index.html and its assets.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { clientFor, connectionFor, type SignIn, savedSignIn, saveSignIn } from './session.ts';
import './style.css';
import { JobsView } from './views/jobs.tsx';
import { ObjectsView } from './views/objects.tsx';
import { SliceMapView } from './views/slice-map.tsx';
import { UnitsView } from './views/units.tsx';
import { VaultsView } from './views/vaults.tsx';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignInForm({ onSignIn }: { onSignIn: (s: SignIn) => void }) {
  return (
    <form
      class="signin"
      data-testid="signin"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.target as HTMLFormElement);
        const token = String(f.get('sessionToken') ?? '');
        onSignIn({
          accessKeyId: String(f.get('accessKeyId') ?? '').trim(),
          secretAccessKey: String(f.get('secretAccessKey') ?? '').trim(),
          ...(token ? { sessionToken: token.trim() } : {}),
          region: String(f.get('region') ?? 'us-east-1').trim() || 'us-east-1',
        });
      }}
    >
      <h2>Sign in with an access key</h2>
      <p class="note">
        On the local cloud, the root key is in <code>.dsn/credentials.json</code>. The key stays in
        this tab (sessionStorage) and signs each request here, in the browser.
      </p>
      <label>
        access key id <input name="accessKeyId" required autocomplete="username" />
      </label>
      <label>
        secret access key{' '}
        <input name="secretAccessKey" type="password" required autocomplete="current-password" />
      </label>
      <label>
        session token (optional) <input name="sessionToken" />
      </label>
      <label>
        region <input name="region" value="us-east-1" />
      </label>
      <button type="submit">sign in</button>
    </form>
  );
}

function App() {
  const [signIn, setSignIn] = useState<SignIn | undefined>(savedSignIn());
  const dsn = useMemo(() => (signIn ? clientFor(signIn) : undefined), [signIn]);
  const hash = useHash();
  if (!dsn) {
    return (
      <SignInForm
        onSignIn={(s) => {
          saveSignIn(s);
          setSignIn(s);
        }}
      />
    );
  }
  const [, view = 'vaults', vault = '', ...rest] = hash.replace(/^#/, '').split('/');
  const tail = rest.join('/');
  const page =
    view === 'units' ? (
      <UnitsView dsn={dsn} />
    ) : view === 'jobs' ? (
      <JobsView dsn={dsn} />
    ) : view === 'objects' && vault ? (
      <ObjectsView
        dsn={dsn}
        connection={connectionFor(signIn as SignIn)}
        vault={decodeURIComponent(vault)}
        prefix={tail}
      />
    ) : view === 'slices' && vault ? (
      <SliceMapView dsn={dsn} vault={decodeURIComponent(vault)} objectKey={tail} />
    ) : (
      <VaultsView dsn={dsn} />
    );
  return (
    <>
      <nav>
        <strong>dsn</strong> <a href="#/vaults">vaults</a> <a href="#/units">units</a>{' '}
        <a href="#/jobs">jobs</a>{' '}
        <button
          type="button"
          onClick={() => {
            saveSignIn(undefined);
            setSignIn(undefined);
          }}
        >
          sign out {signIn?.accessKeyId}
        </button>
      </nav>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
