import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { Rollout, RolloutDetails } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { RolloutsPage } from './RolloutsPage';

const now = new Date().toISOString();
const rollout = (overrides: Partial<Rollout> = {}): Rollout => ({
  id: 'rollout-1a2b3c4d',
  status: 'Halted',
  engine: 'woocommerce',
  targetChartVersion: '0.2.0',
  waveSize: 5,
  pauseSeconds: 60,
  maxFailures: 1,
  currentWave: 2,
  waveCount: 5,
  haltReason: '1 store failed its upgrade (limit 1): shop-7',
  createdBy: 'user:default/ada',
  createdAt: now,
  updatedAt: now,
  ...overrides,
});
const details = (r: Rollout): RolloutDetails => ({
  rollout: r,
  stores: [
    {
      storeId: 'shop-1',
      wave: 1,
      result: 'succeeded',
      reason: null,
      fromChartVersion: '0.1.0',
    },
    {
      storeId: 'shop-7',
      wave: 2,
      result: 'failed',
      reason: 'Health check failed; rolled back to revision 1',
      fromChartVersion: '0.1.0',
    },
    {
      storeId: 'shop-9',
      wave: 3,
      result: 'pending',
      reason: null,
      fromChartVersion: null,
    },
  ],
  events: [
    {
      id: 2,
      createdAt: now,
      type: 'halted',
      level: 'error',
      message: 'Rollout halted',
      actor: null,
    },
  ],
});

function renderPage(api: Record<string, jest.Mock>) {
  return renderInTestApp(
    <TestApiProvider apis={[[storesApiRef, api]]}>
      <RolloutsPage />
    </TestApiProvider>,
  );
}

describe('RolloutsPage', () => {
  it('shows rollouts, the halt reason and each store’s result, and resumes a halted rollout', async () => {
    const halted = rollout();
    const api = {
      listRollouts: jest.fn().mockResolvedValue({ items: [halted] }),
      getRollout: jest.fn().mockResolvedValue(details(halted)),
      commandRollout: jest
        .fn()
        .mockResolvedValue({ ...halted, status: 'Running' }),
      createRollout: jest.fn(),
    };
    await renderPage(api);
    expect(
      await screen.findByText('1 store failed its upgrade (limit 1): shop-7'),
    ).toBeInTheDocument();
    const stores = screen.getByText('shop-7').closest('tr')!;
    expect(within(stores).getByText('rolled back')).toBeInTheDocument();
    expect(
      within(stores).getByText(
        'Health check failed; rolled back to revision 1',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText(/halted: Rollout halted/)).toBeInTheDocument();
    // Halted: resume and abort are offered, pause is not.
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() =>
      expect(api.commandRollout).toHaveBeenCalledWith(
        'rollout-1a2b3c4d',
        'resume',
      ),
    );
  });

  it('asks before aborting', async () => {
    const running = rollout({ status: 'Running', haltReason: null });
    const api = {
      listRollouts: jest.fn().mockResolvedValue({ items: [running] }),
      getRollout: jest.fn().mockResolvedValue(details(running)),
      commandRollout: jest.fn().mockResolvedValue(running),
      createRollout: jest.fn(),
    };
    await renderPage(api);
    await userEvent.click(await screen.findByRole('button', { name: 'Abort' }));
    expect(api.commandRollout).not.toHaveBeenCalled();
    await userEvent.click(
      screen.getByRole('button', { name: 'Abort rollout' }),
    );
    await waitFor(() =>
      expect(api.commandRollout).toHaveBeenCalledWith(
        'rollout-1a2b3c4d',
        'abort',
      ),
    );
  });

  it('starts a rollout with the settings given and shows a refusal in the dialog', async () => {
    const started = rollout({ status: 'Pending', haltReason: null });
    const api = {
      listRollouts: jest.fn().mockResolvedValue({ items: [] }),
      getRollout: jest.fn().mockResolvedValue(details(started)),
      commandRollout: jest.fn(),
      createRollout: jest
        .fn()
        .mockRejectedValueOnce(
          new Error('Every store already runs chart 0.2.0'),
        )
        .mockResolvedValueOnce(started),
    };
    await renderPage(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Start rollout' }),
    );
    const dialog = screen.getByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText('Wave size'), '10');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Start rollout' }),
    );
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'Every store already runs chart 0.2.0',
    );
    expect(api.createRollout).toHaveBeenCalledWith({
      waveSize: 10,
      pauseSeconds: undefined,
      maxFailures: undefined,
    });
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Start rollout' }),
    );
    await waitFor(() =>
      expect(api.getRollout).toHaveBeenCalledWith('rollout-1a2b3c4d'),
    );
  });

  it('shows the API’s refusal to someone who is not an administrator', async () => {
    const response = new Response(
      JSON.stringify({
        error: {
          name: 'NotAllowedError',
          message: 'You may not read fleet rollouts (storeplane.rollout.read)',
        },
        response: { statusCode: 403 },
      }),
      { status: 403, headers: { 'Content-Type': 'application/json' } },
    );
    const api = {
      listRollouts: jest
        .fn()
        .mockRejectedValue(await ResponseError.fromResponse(response)),
      getRollout: jest.fn(),
      commandRollout: jest.fn(),
      createRollout: jest.fn(),
    };
    await renderPage(api);
    expect(
      (await screen.findAllByText(/storeplane\.rollout\.read/))[0],
    ).toBeInTheDocument();
    expect(api.getRollout).not.toHaveBeenCalled();
  });
});
