import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { storesApiRef } from '../../api/StoresApi';
import { FieldForm } from '../../__testUtils__/FieldForm';
import { StoreEnginePicker } from './StoreEnginePicker';

function Form(props: { onValue: (value: string) => void }) {
  return (
    <FieldForm
      field={StoreEnginePicker}
      id="engine"
      title="Engine"
      description="What kind of store"
      required={false}
      onValue={props.onValue}
    />
  );
}

describe('StoreEnginePicker', () => {
  it("offers the backend's engines, the first by default", async () => {
    const values: string[] = [];
    const listEngines = jest.fn(async () => ({
      items: [
        { name: 'woocommerce', title: 'WooCommerce' },
        { name: 'medusa', title: 'Medusa' },
      ],
    }));
    await renderInTestApp(
      <TestApiProvider apis={[[storesApiRef, { listEngines } as any]]}>
        <Form onValue={v => values.push(v)} />
      </TestApiProvider>,
    );
    expect(await screen.findByText('WooCommerce')).toBeInTheDocument();
    expect(values).toEqual(['woocommerce']);
    expect(listEngines).toHaveBeenCalledTimes(1);

    await userEvent.click(screen.getByRole('button', { name: /WooCommerce/ }));
    const options = within(screen.getByRole('listbox')).getAllByRole('option');
    expect(options.map(o => o.textContent)).toEqual(['WooCommerce', 'Medusa']);
    await userEvent.click(options[1]);
    expect(values.at(-1)).toBe('medusa');
  });

  it('says when the engines cannot be loaded, and chooses none', async () => {
    const values: string[] = [];
    const listEngines = async () => {
      throw new Error('Service Unavailable');
    };
    await renderInTestApp(
      <TestApiProvider apis={[[storesApiRef, { listEngines } as any]]}>
        <Form onValue={v => values.push(v)} />
      </TestApiProvider>,
    );
    expect(
      await screen.findByText(
        'Could not load the store engines: Service Unavailable',
      ),
    ).toBeInTheDocument();
    expect(values).toEqual([]);
  });
});
