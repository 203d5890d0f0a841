import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { identityApiRef } from '@backstage/core-plugin-api';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { FieldForm } from '../../__testUtils__/FieldForm';
import { StoreOwnerPicker } from './StoreOwnerPicker';

const identityApi = {
  getBackstageIdentity: async () => ({
    type: 'user' as const,
    userEntityRef: 'user:default/guest',
    ownershipEntityRefs: ['user:default/guest', 'group:default/shop-team'],
  }),
};

function Form(props: { onValue: (value: string) => void }) {
  return (
    <FieldForm
      field={StoreOwnerPicker}
      id="owner"
      title="Owner"
      description="You or one of your teams"
      required
      onValue={props.onValue}
    />
  );
}

describe('StoreOwnerPicker', () => {
  it('defaults to the signed-in user and offers exactly their groups', async () => {
    const values: string[] = [];
    await renderInTestApp(
      <TestApiProvider apis={[[identityApiRef, identityApi]]}>
        <Form onValue={v => values.push(v)} />
      </TestApiProvider>,
    );
    const input = await screen.findByLabelText(/Owner/);
    expect(await screen.findByDisplayValue('guest (you)')).toBe(input);
    expect(values).toEqual(['user:default/guest']);

    await userEvent.click(input);
    const options = within(screen.getByRole('listbox')).getAllByRole('option');
    expect(options.map(o => o.textContent)).toEqual([
      'guest (you)',
      'shop-team (group)',
    ]);
    await userEvent.click(options[1]);
    expect(values.at(-1)).toBe('group:default/shop-team');
    expect(input).toHaveValue('shop-team (group)');
  });
});
