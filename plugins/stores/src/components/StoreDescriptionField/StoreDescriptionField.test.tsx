import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { storesApiRef } from '../../api/StoresApi';
import { FieldForm } from '../../__testUtils__/FieldForm';
import { StoreDescriptionField } from './StoreDescriptionField';

function Form(props: {
  name?: string;
  onValue: (value: string) => void;
  suggestNewStoreContent: jest.Mock;
}) {
  return (
    <TestApiProvider
      apis={[
        [
          storesApiRef,
          { suggestNewStoreContent: props.suggestNewStoreContent } as any,
        ],
      ]}
    >
      <FieldForm
        field={StoreDescriptionField}
        id="description"
        title="Description"
        description="Shown as plain text in the catalog."
        required={false}
        onValue={props.onValue}
        formData={props.name ? { name: props.name } : {}}
      />
    </TestApiProvider>
  );
}

describe('StoreDescriptionField', () => {
  it('prefills the description from the store name and says which source suggested it', async () => {
    const values: string[] = [];
    const suggestNewStoreContent = jest.fn(async () => ({
      title: 'Corner Bakery',
      tagline: 'Bread from the corner, every morning.',
      products: [],
      source: 'ai',
      model: 'small-model',
    }));
    await renderInTestApp(
      <Form
        name="corner-bakery"
        onValue={v => values.push(v)}
        suggestNewStoreContent={suggestNewStoreContent}
      />,
    );
    await userEvent.click(
      screen.getByRole('button', { name: 'Suggest from the store name' }),
    );
    expect(
      await screen.findByText('Suggested by small-model; edit it as you like.'),
    ).toBeInTheDocument();
    expect(suggestNewStoreContent).toHaveBeenCalledWith({
      name: 'corner-bakery',
    });
    expect(values).toEqual(['Bread from the corner, every morning.']);
    expect(screen.getByRole('textbox', { name: 'Description' })).toHaveValue(
      'Bread from the corner, every morning.',
    );
  });

  it('offers no suggestion before a name is typed, and says when one fails', async () => {
    const suggestNewStoreContent = jest.fn(async () => {
      throw new Error('You may not create stores');
    });
    const { rerender } = await renderInTestApp(
      <Form
        onValue={() => {}}
        suggestNewStoreContent={suggestNewStoreContent}
      />,
    );
    expect(
      screen.getByRole('button', { name: 'Suggest from the store name' }),
    ).toBeDisabled();
    rerender(
      <Form
        name="shop"
        onValue={() => {}}
        suggestNewStoreContent={suggestNewStoreContent}
      />,
    );
    await userEvent.click(
      screen.getByRole('button', { name: 'Suggest from the store name' }),
    );
    expect(
      await screen.findByText(
        'Could not suggest a description: You may not create stores',
      ),
    ).toBeInTheDocument();
  });
});
